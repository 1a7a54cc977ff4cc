// Guests spin on vCPU threads; running test classes in parallel on a small machine starves the
// actors the tests are waiting for. One class at a time keeps timings honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
