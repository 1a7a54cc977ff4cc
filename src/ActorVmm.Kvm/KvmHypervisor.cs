using System.Runtime.InteropServices;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Vcpu;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static ActorVmm.Kvm.Interop.KvmConstants;

namespace ActorVmm.Kvm;

/// <summary>
/// The KVM backend: an open /dev/kvm with its API version and the capabilities the backend relies
/// on checked up front, so a machine without usable KVM fails at start with one clear message.
/// </summary>
public sealed class KvmHypervisor : IHypervisor
{
    /// <summary>The KVM device node.</summary>
    public const string DevicePath = "/dev/kvm";

    /// <summary>CPUID entries asked for from KVM_GET_SUPPORTED_CPUID (grown on E2BIG).</summary>
    private const int InitialCpuidEntries = 80;
    private const int MaxCpuidEntries = 1024;

    private static readonly (int Cap, string Name)[] RequiredCapabilities =
    [
        (KVM_CAP_USER_MEMORY, nameof(KVM_CAP_USER_MEMORY)),
        (KVM_CAP_SET_TSS_ADDR, nameof(KVM_CAP_SET_TSS_ADDR)),
        (KVM_CAP_SET_IDENTITY_MAP_ADDR, nameof(KVM_CAP_SET_IDENTITY_MAP_ADDR)),
        (KVM_CAP_EXT_CPUID, nameof(KVM_CAP_EXT_CPUID)),
        (KVM_CAP_IRQCHIP, nameof(KVM_CAP_IRQCHIP)),
        (KVM_CAP_PIT2, nameof(KVM_CAP_PIT2)),
        (KVM_CAP_COALESCED_MMIO, nameof(KVM_CAP_COALESCED_MMIO)),
        (KVM_CAP_IOEVENTFD, nameof(KVM_CAP_IOEVENTFD)),
        (KVM_CAP_IRQFD, nameof(KVM_CAP_IRQFD)),
        (KVM_CAP_IRQ_ROUTING, nameof(KVM_CAP_IRQ_ROUTING)),
        (KVM_CAP_SIGNAL_MSI, nameof(KVM_CAP_SIGNAL_MSI)),
        (KVM_CAP_IMMEDIATE_EXIT, nameof(KVM_CAP_IMMEDIATE_EXIT)),
    ];

    private readonly SafeFdHandle _kvm;
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>Opens /dev/kvm and checks the API version and capabilities.</summary>
    /// <exception cref="KvmUnavailableException">/dev/kvm is missing, not permitted, or lacks what the backend needs.</exception>
    public KvmHypervisor(ILoggerFactory? loggerFactory = null)
        : this(DevicePath, loggerFactory)
    {
    }

    /// <summary>Opens a given device node (tests point it at paths that do not exist).</summary>
    internal KvmHypervisor(string devicePath, ILoggerFactory? loggerFactory)
    {
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _kvm = Open(devicePath);
        try
        {
            int version = KvmCalls.Ioctl(_kvm, KvmIoctls.KVM_GET_API_VERSION, 0, nameof(KvmIoctls.KVM_GET_API_VERSION));
            if (version != KVM_API_VERSION)
            {
                throw new KvmUnavailableException($"{DevicePath} reports KVM API version {version}, this backend needs {KVM_API_VERSION}");
            }

            foreach (var (cap, name) in RequiredCapabilities)
            {
                if (CheckExtension(cap) <= 0)
                {
                    throw new KvmUnavailableException($"the kernel's KVM lacks {name}");
                }
            }

            CoalescedMmioPageOffset = CheckExtension(KVM_CAP_COALESCED_MMIO);
            HasCoalescedPio = CheckExtension(KVM_CAP_COALESCED_PIO) > 0;
            HasTscDeadlineTimer = CheckExtension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
            MaxIrqRoutes = CheckExtension(KVM_CAP_IRQ_ROUTING);
            VcpuMmapSize = KvmCalls.Ioctl(_kvm, KvmIoctls.KVM_GET_VCPU_MMAP_SIZE, 0, nameof(KvmIoctls.KVM_GET_VCPU_MMAP_SIZE));
            int maxVcpus = CheckExtension(KVM_CAP_MAX_VCPUS);
            MaxVcpus = maxVcpus > 0 ? maxVcpus : Math.Max(CheckExtension(KVM_CAP_NR_VCPUS), 1);
            SupportedCpuid = GetSupportedCpuid();
        }
        catch
        {
            _kvm.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string Name => "kvm";

    /// <summary>True when the kernel can coalesce port I/O writes (KVM_CAP_COALESCED_PIO).</summary>
    public bool HasCoalescedPio { get; }

    /// <summary>True when the in-kernel local APIC offers the TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER).</summary>
    public bool HasTscDeadlineTimer { get; }

    /// <summary>Most vCPUs per VM the kernel allows.</summary>
    public int MaxVcpus { get; }

    /// <summary>Most GSI routing entries a VM may have (KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING): the kernel's KVM_MAX_IRQ_ROUTES).</summary>
    public int MaxIrqRoutes { get; }

    internal int CoalescedMmioPageOffset { get; }

    internal int VcpuMmapSize { get; }

    internal IReadOnlyList<kvm_cpuid_entry2> SupportedCpuid { get; }

    /// <summary>
    /// For <c>--backend auto</c>: true when /dev/kvm opens and passes the same checks as the
    /// constructor; otherwise false with the reason.
    /// </summary>
    public static bool IsAvailable(out string reason)
    {
        try
        {
            using var probe = new KvmHypervisor();
            reason = $"{DevicePath} opened, KVM API {KVM_API_VERSION}";
            return true;
        }
        catch (KvmUnavailableException ex)
        {
            reason = ex.Reason;
            return false;
        }
        catch (KvmIoctlException ex)
        {
            reason = ex.Message;
            return false;
        }
    }

    /// <inheritdoc />
    public IVirtualMachine CreateVm(VmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.VcpuCount > MaxVcpus)
        {
            throw new ArgumentException($"KVM on this machine allows at most {MaxVcpus} vCPUs per VM, not {spec.VcpuCount}");
        }

        return new KvmVm(this, spec, _loggerFactory);
    }

    internal SafeFdHandle CreateVmFd()
    {
        int fd = KvmCalls.Ioctl(_kvm, KvmIoctls.KVM_CREATE_VM, 0, nameof(KvmIoctls.KVM_CREATE_VM));
        return new SafeFdHandle(fd);
    }

    internal int CheckExtension(int capability)
    {
        int rc = Libc.ioctl(_kvm, KvmIoctls.KVM_CHECK_EXTENSION, capability);
        return rc < 0 ? 0 : rc;
    }

    private static SafeFdHandle Open(string devicePath)
    {
        int fd = Libc.open(devicePath, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd >= 0)
        {
            return new SafeFdHandle(fd);
        }

        int errno = Marshal.GetLastPInvokeError();
        string reason = errno switch
        {
            Libc.ENOENT => $"{devicePath} does not exist (no KVM module loaded, or no hardware virtualization on this machine)",
            Libc.EACCES or Libc.EPERM => $"permission denied opening {devicePath} (add the user to the 'kvm' group)",
            _ => $"cannot open {devicePath}: {Marshal.GetPInvokeErrorMessage(errno)}",
        };
        throw new KvmUnavailableException(reason);
    }

    private kvm_cpuid_entry2[] GetSupportedCpuid()
    {
        for (int capacity = InitialCpuidEntries; capacity <= MaxCpuidEntries; capacity *= 2)
        {
            byte[] buffer = new byte[KvmVariableLength.Size<kvm_cpuid2, kvm_cpuid_entry2>(capacity)];
            MemoryMarshal.Write(buffer, new kvm_cpuid2 { nent = (uint)capacity });
            try
            {
                KvmCalls.Ioctl(_kvm, KvmIoctls.KVM_GET_SUPPORTED_CPUID, buffer.AsSpan(), nameof(KvmIoctls.KVM_GET_SUPPORTED_CPUID));
            }
            catch (KvmIoctlException ex) when (ex.Errno == Libc.E2BIG)
            {
                continue;
            }

            uint count = Math.Min(MemoryMarshal.Read<kvm_cpuid2>(buffer).nent, (uint)capacity);
            return MemoryMarshal.Cast<byte, kvm_cpuid_entry2>(buffer.AsSpan(Marshal.SizeOf<kvm_cpuid2>()))[..(int)count].ToArray();
        }

        throw new KvmIoctlException(nameof(KvmIoctls.KVM_GET_SUPPORTED_CPUID), Libc.E2BIG, $"more than {MaxCpuidEntries} entries");
    }

    /// <inheritdoc />
    public void Dispose() => _kvm.Dispose();
}
