using ActorVmm.Actors.Hosting;
using ActorVmm.Actors.Supervision;
using ActorVmm.Actors.Tests.Fakes;
using ActorVmm.Actors.Vm;
using ActorVmm.Machine.Vcpu;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorVmm.Actors.Tests;

public sealed class HostingTests
{
    private const int ConfiguredMaxRestarts = 3;
    private static readonly TimeSpan ConfiguredWindow = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void Akka_hocon_defines_the_supervision_limits_and_both_device_dispatchers_on_the_thread_pool()
    {
        var config = ActorVmmConfig.Load();

        var settings = SupervisionSettings.FromConfig(config);

        Assert.Equal(ConfiguredMaxRestarts, settings.MaxRestarts);
        Assert.Equal(ConfiguredWindow, settings.Within);
        Assert.True(config.HasPath(SupervisionSettings.DeviceDispatcherId));
        Assert.True(config.HasPath(SupervisionSettings.BlockingIoDispatcherId));
        Assert.Equal("default-executor", config.GetString(SupervisionSettings.DeviceDispatcherId + ".executor"));
        Assert.Equal("default-executor", config.GetString(SupervisionSettings.BlockingIoDispatcherId + ".executor"));
    }

    [Fact]
    public void Supervision_section_with_a_negative_restart_limit_is_refused_with_a_clear_error()
    {
        var config = ConfigurationFactory.ParseString("actorvmm.supervision { max-restarts = -1, within = 10s }");

        var error = Assert.Throws<ConfigurationException>(() => SupervisionSettings.FromConfig(config));

        Assert.Contains("max-restarts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddActorVmm_starts_the_vm_manager_and_registers_it_in_the_actor_registry()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IHypervisor>(new FakeHypervisor(_ => _ => VcpuExit.Halted));
        builder.Services.AddAkka("actorvmm-hosting-test", akka => akka.AddActorVmm());
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<ActorRegistry>();
            var manager = await registry.GetAsync<VmManager>();

            var list = await manager.Ask<VmManagerProtocol.VmList>(VmManagerProtocol.ListVms.Instance, Patience);

            Assert.Empty(list.Vms);
            Assert.Equal(ActorVmmHostingExtensions.VmManagerName, manager.Path.Name);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
