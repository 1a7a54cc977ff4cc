using System.Runtime.Versioning;

// The program under test is Linux-only (KVM, Unix sockets with SO_PEERCRED, termios).
[assembly: SupportedOSPlatform("linux")]
