using Iced.Intel;

namespace ActorVmm.Emulator.Cpu;

/// <summary>
/// CMPXCHG16B m128 (SDM CMPXCHG8B/CMPXCHG16B). .NET has no 128-bit compare-and-swap (Interlocked stops at 64 bits and
/// there is no CMPXCHG16B intrinsic), so on RAM the read-compare-write runs under a lock chosen by the physical address
/// from a small stripe shared by every vCPU of the process: two CMPXCHG16B on the same 16 bytes are atomic against each
/// other. What this does not give is atomicity against a plain or 8-byte locked store of another vCPU to the same 16
/// bytes in between (hardware locks the cache line for all of them); guests update such pairs with CMPXCHG16B only
/// (Linux's cmpxchg_double), which this covers.
/// </summary>
internal sealed partial class X86Core
{
    /// <summary>Number of locks the 16-byte operations are striped over (a power of two).</summary>
    private const int Cas128Stripes = 64;

    private static readonly Lock[] Cas128Locks = CreateCas128Locks();

    private static Lock[] CreateCas128Locks()
    {
        var locks = new Lock[Cas128Stripes];
        for (int i = 0; i < locks.Length; i++)
        {
            locks[i] = new Lock();
        }

        return locks;
    }

    /// <summary>
    /// RDX:RAX against m128: equal stores RCX:RBX and sets ZF, else loads m128 into RDX:RAX and clears ZF. The operand
    /// must be 16-byte aligned (#GP(0)); the access is a write for paging either way (the locked cycle always writes).
    /// </summary>
    private void ExecuteCmpxchg16b(ref Instruction ins)
    {
        ulong linear = MemoryLinear(ins);
        if ((linear & 0xF) != 0)
        {
            throw new GuestFault(ExceptionVector.GP, 0);
        }

        // 16-byte aligned, so both halves are on one page: one translation serves both.
        ulong physical = Translate(linear, AccessKind.Write);
        ulong expectedLow = Gpr[RAX];
        ulong expectedHigh = Gpr[RDX];
        (ulong low, ulong high, bool swapped) = CompareExchange128(physical, expectedLow, expectedHigh, Gpr[RBX], Gpr[RCX]);
        if (swapped)
        {
            Flags |= RFlags.ZF;
            return;
        }

        Flags &= ~RFlags.ZF;
        Gpr[RAX] = low;
        Gpr[RDX] = high;
    }

    private unsafe (ulong Low, ulong High, bool Swapped) CompareExchange128(ulong physical, ulong expectedLow, ulong expectedHigh, ulong low, ulong high)
    {
        if (!_memory.TryTranslate(physical, 16, out nint host))
        {
            // MMIO (or RAM across two slots): no atomicity, as for the other locked operations; a failed compare
            // writes the old value back, as the SDM describes.
            ulong currentLow = ReadPhysical(physical, 8);
            ulong currentHigh = ReadPhysical(physical + 8, 8);
            bool equal = currentLow == expectedLow && currentHigh == expectedHigh;
            WritePhysical(physical, 8, equal ? low : currentLow);
            WritePhysical(physical + 8, 8, equal ? high : currentHigh);
            return (currentLow, currentHigh, equal);
        }

        lock (Cas128Locks[(int)((physical >> 4) & (Cas128Stripes - 1))])
        {
            // Safe: TryTranslate proved the 16 bytes at host are mapped guest RAM; the address is 16-byte aligned.
            ulong* p = (ulong*)host;
            ulong currentLow = Volatile.Read(ref p[0]);
            ulong currentHigh = Volatile.Read(ref p[1]);
            if (currentLow != expectedLow || currentHigh != expectedHigh)
            {
                return (currentLow, currentHigh, false);
            }

            Volatile.Write(ref p[0], low);
            Volatile.Write(ref p[1], high);
        }

        _code.OnGuestWrite(physical, 16);
        return (expectedLow, expectedHigh, true);
    }
}
