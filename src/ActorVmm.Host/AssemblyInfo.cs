using System.Runtime.Versioning;

// actorvmm is a Linux program: KVM, Unix sockets with SO_PEERCRED, termios.
[assembly: SupportedOSPlatform("linux")]
