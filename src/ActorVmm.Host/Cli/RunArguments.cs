namespace ActorVmm.Host.Cli;

/// <summary>The raw values of <c>actorvmm run</c>'s options, before validation.</summary>
public sealed record RunArguments
{
    /// <summary>--image: a flat binary (null: the built-in demo guest).</summary>
    public string? Image { get; init; }

    /// <summary>-k/--kernel: a Linux bzImage (KVM backend).</summary>
    public string? Kernel { get; init; }

    /// <summary>-i/--initrd: the kernel's initial ramdisk.</summary>
    public string? Initrd { get; init; }

    /// <summary>-p/--params: kernel parameters, after the platform's own (console=ttyS0 reboot=k acpi=off).</summary>
    public string? Params { get; init; }

    /// <summary>--reboot: restart the guest when it resets instead of ending the VM.</summary>
    public bool Reboot { get; init; }

    /// <summary>-m/--mem, e.g. "64M" or "1G" (a plain number is MiB).</summary>
    public string Memory { get; init; } = RunPlanner.DefaultMemory;

    /// <summary>-c/--cpus.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>--name (default "guest-PID", as lkvm names guests).</summary>
    public string? Name { get; init; }

    /// <summary>--backend auto|kvm|emulator.</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>
    /// --experimental-emulator-linux (hidden, for development): lets --kernel run on the emulator backend,
    /// which boots Linux only experimentally so far (docs/emulator.md says how far it gets).
    /// </summary>
    public bool ExperimentalEmulatorLinux { get; init; }

    /// <summary>-d/--disk PATH[,ro], repeatable: one virtio-blk device per raw image.</summary>
    public IReadOnlyList<string> Disks { get; init; } = [];

    /// <summary>--rng: a virtio-rng device.</summary>
    public bool Rng { get; init; }

    /// <summary>-n/--network mode=tap,tapif=NAME[,guest_mac=MAC], repeatable: one virtio-net card per tap (kvmtool's syntax).</summary>
    public IReadOnlyList<string> Networks { get; init; } = [];

    /// <summary>--virtio-console-log FILE: a virtio console whose output goes to FILE.</summary>
    public string? VirtioConsoleLog { get; init; }

    /// <summary>--virtio-transport mmio|pci.</summary>
    public string VirtioTransport { get; init; } = RunPlanner.DefaultVirtioTransport;

    /// <summary>--console serial|virtio|none.</summary>
    public string Console { get; init; } = "serial";

    /// <summary>--console-log FILE: a copy of the guest console.</summary>
    public string? ConsoleLog { get; init; }

    /// <summary>--debug-ioport: log unhandled port accesses.</summary>
    public bool DebugIoport { get; init; }

    /// <summary>--debug-mmio: log unhandled MMIO accesses.</summary>
    public bool DebugMmio { get; init; }

    /// <summary>--vesa [WxH]: a linear framebuffer (null: none; <see cref="RunPlanner.DefaultVesa"/> when given without a size).</summary>
    public string? Vesa { get; init; }

    /// <summary>--screenshot-on-exit FILE.png: the framebuffer as the guest left it.</summary>
    public string? ScreenshotOnExit { get; init; }

    /// <summary>--config FILE: extra HOCON layered over config/akka.hocon.</summary>
    public string? Config { get; init; }

    /// <summary>--vfio-pci DOMAIN:BUS:DEV.FN (repeatable): host PCI devices to pass through (KVM only).</summary>
    public IReadOnlyList<string> VfioPci { get; init; } = [];

    /// <summary>--log-level.</summary>
    public string LogLevel { get; init; } = "warning";

    /// <summary>--log-file.</summary>
    public string? LogFile { get; init; }
}
