using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;

namespace ActorVmm.Devices.Platforms;

/// <summary>What a platform builds its devices for.</summary>
/// <param name="Vm">The backend VM of this boot (its RAM size, whether it has an in-kernel irqchip).</param>
/// <param name="Time">The VM's clock (devices get it again through their context).</param>
/// <param name="LoggerFactory">Loggers for devices that log guest events (POST codes, boot time).</param>
public sealed record PlatformContext(IVirtualMachine Vm, TimeProvider Time, ILoggerFactory LoggerFactory);
