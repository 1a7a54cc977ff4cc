using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ActorVmm.Emulator.Tests;

/// <summary>
/// P/Invoke into Debian's libunicorn2 (libunicorn.so.2), the reference x86 implementation for differential
/// tests. Names and values as in unicorn/unicorn.h and unicorn/x86.h. Used by tests only, never shipped.
/// </summary>
internal static unsafe partial class Unicorn
{
    public const string Library = "libunicorn.so.2";

    public const int UC_ARCH_X86 = 4;
    public const int UC_MODE_32 = 1 << 2;
    public const int UC_MODE_64 = 1 << 3;
    public const uint UC_PROT_ALL = 7;
    public const int UC_ERR_OK = 0;

    // uc_x86_reg values.
    public const int UC_X86_REG_EAX = 19;
    public const int UC_X86_REG_EBP = 20;
    public const int UC_X86_REG_EBX = 21;
    public const int UC_X86_REG_ECX = 22;
    public const int UC_X86_REG_EDI = 23;
    public const int UC_X86_REG_EDX = 24;
    public const int UC_X86_REG_EFLAGS = 25;
    public const int UC_X86_REG_EIP = 26;
    public const int UC_X86_REG_ESI = 29;
    public const int UC_X86_REG_ESP = 30;
    /// <summary>The x87 status word with TOP in bits 13:11. X87DifferentialTests checks it against FNSTSW.</summary>
    public const int UC_X86_REG_FPSW = 31;
    public const int UC_X86_REG_RAX = 35;

    /// <summary>Physical x87 register R0 as uc_x86_float80 (64-bit mantissa, 16-bit exponent); FP1..FP7 follow.</summary>
    public const int UC_X86_REG_FP0 = 82;
    public const int UC_X86_REG_RBP = 36;
    public const int UC_X86_REG_RBX = 37;
    public const int UC_X86_REG_RCX = 38;
    public const int UC_X86_REG_RDI = 39;
    public const int UC_X86_REG_RDX = 40;
    public const int UC_X86_REG_RIP = 41;
    public const int UC_X86_REG_RSI = 43;
    public const int UC_X86_REG_RSP = 44;
    public const int UC_X86_REG_R8 = 106;

    /// <summary>CR0; CR1..CR4 follow (unicorn/x86.h). PagingDifferentialTests checks CR2/CR3 by reading back known values.</summary>
    public const int UC_X86_REG_CR0 = 50;
    public const int UC_X86_REG_CR2 = UC_X86_REG_CR0 + 2;
    public const int UC_X86_REG_CR3 = UC_X86_REG_CR0 + 3;

    /// <summary>uc_hook_type UC_HOOK_INTR: interrupts and CPU exceptions (the callback gets the vector).</summary>
    public const int UC_HOOK_INTR = 1 << 0;

    /// <summary>XMM0; XMM1..XMM15 follow (unicorn/x86.h). SseDifferentialTests checks it by reading XMM0 back through MOVQ.</summary>
    public const int UC_X86_REG_XMM0 = 122;

    /// <summary>Register ids in the emulator's slot order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15).</summary>
    public static readonly int[] Gpr64 =
    [
        UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX, UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
        UC_X86_REG_R8, UC_X86_REG_R8 + 1, UC_X86_REG_R8 + 2, UC_X86_REG_R8 + 3, UC_X86_REG_R8 + 4, UC_X86_REG_R8 + 5, UC_X86_REG_R8 + 6, UC_X86_REG_R8 + 7,
    ];

    /// <summary>32-bit register ids in slot order.</summary>
    public static readonly int[] Gpr32 =
    [
        UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX, UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
    ];

    /// <summary>True when the shared library can be loaded.</summary>
    public static bool IsAvailable(out string error)
    {
        if (NativeLibrary.TryLoad(Library, out nint handle))
        {
            NativeLibrary.Free(handle);
            error = string.Empty;
            return true;
        }

        error = $"{Library} could not be loaded: install Debian's libunicorn2 (apt-get install libunicorn2); ./build.sh test installs it when run as root";
        return false;
    }

    [LibraryImport(Library)]
    public static partial int uc_open(int arch, int mode, out UnicornHandle uc);

    [LibraryImport(Library)]
    public static partial int uc_close(nint uc);

    [LibraryImport(Library)]
    public static partial int uc_mem_map(UnicornHandle uc, ulong address, nuint size, uint perms);

    [LibraryImport(Library)]
    public static partial int uc_mem_write(UnicornHandle uc, ulong address, byte* bytes, nuint size);

    [LibraryImport(Library)]
    public static partial int uc_mem_read(UnicornHandle uc, ulong address, byte* bytes, nuint size);

    [LibraryImport(Library)]
    public static partial int uc_reg_write(UnicornHandle uc, int regid, void* value);

    [LibraryImport(Library)]
    public static partial int uc_reg_read(UnicornHandle uc, int regid, void* value);

    [LibraryImport(Library)]
    public static partial int uc_emu_start(UnicornHandle uc, ulong begin, ulong until, ulong timeout, nuint count);

    [LibraryImport(Library)]
    public static partial int uc_emu_stop(nint uc);


    /// <summary>
    /// uc_hook_add without its trailing variadic arguments (used only by instruction hooks): on x86-64 System V a
    /// variadic callee reads fixed integer arguments from the same registers, so the fixed-argument call is compatible.
    /// </summary>
    [LibraryImport(Library)]
    public static partial int uc_hook_add(UnicornHandle uc, out nint hook, int type, nint callback, nint userData, ulong begin, ulong end);

    /// <summary>Throws with the call name when a Unicorn call fails.</summary>
    public static void Check(int error, string call)
    {
        if (error != UC_ERR_OK)
        {
            throw new InvalidOperationException($"{call} failed with uc_err {error}");
        }
    }
}

/// <summary>An open uc_engine; closed with uc_close.</summary>
internal sealed class UnicornHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public UnicornHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => Unicorn.uc_close(handle) == Unicorn.UC_ERR_OK;
}
