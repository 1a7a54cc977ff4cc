using ActorVmm.Host.Control;

namespace ActorVmm.Host.Tests.Control;

/// <summary>flock locks belong to open files, so two registries in one process contend like two hosts.</summary>
public sealed class VmNameRegistryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actorvmm-registry-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_claimed_name_is_refused_to_another_claimant_with_the_owners_pid()
    {
        using var first = new VmNameRegistry(_dir);
        using var second = new VmNameRegistry(_dir);
        first.Claim(["web"]);

        var ex = Assert.Throws<VmNameInUseException>(() => second.Claim(["web"]));

        Assert.Equal("web", ex.Name);
        Assert.Equal(Environment.ProcessId, ex.OwnerPid);
    }

    [Fact]
    public void A_released_name_can_be_claimed_again_and_its_lock_file_is_gone()
    {
        using var second = new VmNameRegistry(_dir);
        using (var first = new VmNameRegistry(_dir))
        {
            first.Claim(["db"]);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, VmNameRegistry.DirectoryName)));
        second.Claim(["db"]);
    }

    [Fact]
    public void Claiming_several_names_is_all_or_nothing()
    {
        using var holder = new VmNameRegistry(_dir);
        using var fleet = new VmNameRegistry(_dir);
        using var later = new VmNameRegistry(_dir);
        holder.Claim(["vm0002"]);

        Assert.Throws<VmNameInUseException>(() => fleet.Claim(["vm0000", "vm0001", "vm0002", "vm0003"]));

        later.Claim(["vm0000", "vm0001", "vm0003"]);
    }
}
