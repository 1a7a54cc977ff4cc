using System.Runtime.Versioning;

// Several cluster nodes per test on a 2-core machine: one test class at a time keeps their timings honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The VMs run on the emulator; LMDB and the cluster transport are tested on Linux.
[assembly: SupportedOSPlatform("linux")]
