using ActorVmm.Devices.Pci;
using ActorVmm.Machine.Traps;

namespace ActorVmm.Devices.Tests.Pci;

/// <summary>
/// A stand-in for the machine layer's region capability: places one BAR's region in a real trap table (register,
/// move, unregister) from inside the configuration write that moves it, as the lead's binding will.
/// </summary>
internal sealed class TrapTableBarPlacement(TrapTable table, PciBarDefinition bar, TrapHandler handler, string name) : IBarPlacement
{
    private RegionHandle? _handle;

    public void Place(ulong baseAddress, bool enabled)
    {
        if (!enabled)
        {
            if (_handle is { } old)
            {
                table.Unregister(old);
                _handle = null;
            }

            return;
        }

        if (_handle is { } handle)
        {
            table.Move(handle, baseAddress);
        }
        else
        {
            _handle = table.Register(bar.Bus, baseAddress, bar.Size, handler, TrapFlags.None, name);
        }
    }
}
