using ActorVmm.Host.Cli;
using ActorVmm.Host.Control;
using ActorVmm.Host.Vms;

namespace ActorVmm.Host.Tests.Control;

public class ControlRequestHandlerTests
{
    private const int HostPid = 777;
    private readonly FakeFleet _fleet = new();
    private readonly ControlRequestHandler _handler;

    public ControlRequestHandlerTests() => _handler = new ControlRequestHandler(_fleet, HostPid);

    [Fact]
    public async Task List_reports_every_vm_with_its_state_and_host()
    {
        _fleet.Add("a");
        _fleet.Add("b");

        var response = await Handle(new ControlRequest("list"));

        Assert.True(response.Ok);
        Assert.Equal(["a", "b"], response.Vms!.Select(v => v.Name));
        Assert.All(response.Vms!, v =>
        {
            Assert.Equal("running", v.State);
            Assert.Equal(HostPid, v.HostPid);
            Assert.Equal(FakeVm.ExitCount, v.Exits);
            Assert.Equal(FakeVm.Memory, v.MemoryBytes);
        });
    }

    [Fact]
    public async Task Stat_carries_the_PCI_functions_through_the_protocol_and_prints_them_one_per_indented_line()
    {
        string[] functions = ["00:00.0 host-bridge [0600] 8086:0d57 rev 00 cmd -", "00:03.0 pci-echo [ff00] 1234:ec40 rev 00 cmd io,mem INTA irq 19 BAR0 io 0x6200 [0x20]"];
        _fleet.Add("a").PciFunctions = functions;

        var answer = await _handler.HandleAsync(ControlProtocol.Serialize(new ControlRequest("stat", "a")));
        var vm = Assert.Single(ControlProtocol.ParseResponse(ControlProtocol.Serialize(answer))!.Vms!);

        Assert.Equal(functions, vm.Pci);
        Assert.EndsWith($"pci:\n  {functions[0]}\n  {functions[1]}\n", ControlCommands.FormatStat(vm), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stat_of_a_vm_without_PCI_functions_prints_no_pci_section()
    {
        _fleet.Add("a");

        var vm = (await Handle(new ControlRequest("stat", "a"))).Vms![0];

        Assert.Null(vm.Pci);
        Assert.DoesNotContain("pci:", ControlCommands.FormatStat(vm), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pause_resume_and_stop_change_the_named_vm_only()
    {
        var a = _fleet.Add("a");
        var b = _fleet.Add("b");

        Assert.Equal("paused", (await Handle(new ControlRequest("pause", "a"))).Vms![0].State);
        Assert.Equal(VmState.Paused, a.State);
        Assert.Equal(VmState.Running, b.State);

        Assert.Equal("running", (await Handle(new ControlRequest("resume", "a"))).Vms![0].State);
        Assert.Equal("stopped", (await Handle(new ControlRequest("stop", "a"))).Vms![0].State);
        Assert.True(a.Completion.IsCompleted);
        Assert.False(b.Completion.IsCompleted);
    }

    [Fact]
    public async Task Pausing_an_ended_vm_is_refused()
    {
        var a = _fleet.Add("a");
        await a.StopAsync();

        var response = await Handle(new ControlRequest("pause", "a"));

        Assert.False(response.Ok);
        Assert.Contains("already ended", response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_an_ended_vm_says_it_has_already_ended()
    {
        var a = _fleet.Add("a");
        await a.StopAsync();

        var response = await Handle(new ControlRequest("stop", "a"));

        Assert.False(response.Ok);
        Assert.Equal("VM 'a' has already ended (stopped)", response.Error);
    }

    [Theory]
    [InlineData("{\"command\":\"stat\",\"name\":\"a\",\"command\":\"stop\"}")]
    [InlineData("{\"command\":\"stop\",\"name\":\"b\",\"name\":\"a\"}")]
    public async Task A_request_with_a_duplicate_key_is_malformed_and_does_nothing(string line)
    {
        var a = _fleet.Add("a");

        var response = await _handler.HandleAsync(line);

        Assert.False(response.Ok);
        Assert.Contains("malformed request", response.Error, StringComparison.Ordinal);
        Assert.False(a.Completion.IsCompleted);
    }

    [Theory]
    [InlineData("not json", "malformed request")]
    [InlineData("{\"command\":\"reboot\",\"name\":\"a\"}", "unknown command 'reboot'")]
    [InlineData("{\"command\":\"stat\"}", "needs a VM name")]
    [InlineData("{\"command\":\"stat\",\"name\":\"zz\"}", "no VM called 'zz'")]
    [InlineData("[1,2]", "malformed request")]
    public async Task Bad_requests_get_an_error_response(string line, string error)
    {
        _fleet.Add("a");

        var response = await _handler.HandleAsync(line);

        Assert.False(response.Ok);
        Assert.Contains(error, response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Requests_and_responses_are_single_camel_case_json_lines()
    {
        string request = ControlProtocol.Serialize(new ControlRequest("stat", "vm1"));
        string response = ControlProtocol.Serialize(new ControlResponse(true, Vms: [new VmStatus("vm1", "running", "emulator", FakeVm.Memory, 1, FakeVm.ExitCount, 0, HostPid)]));

        Assert.Equal("{\"command\":\"stat\",\"name\":\"vm1\"}", request);
        Assert.DoesNotContain('\n', response);
        Assert.StartsWith("{\"ok\":true,\"vms\":[{\"name\":\"vm1\",\"state\":\"running\"", response, StringComparison.Ordinal);
        Assert.Equal(new ControlRequest("stat", "vm1"), ControlProtocol.ParseRequest(request));
    }

    private Task<ControlResponse> Handle(ControlRequest request) => _handler.HandleAsync(ControlProtocol.Serialize(request));
}
