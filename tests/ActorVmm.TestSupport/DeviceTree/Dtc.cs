using System.Diagnostics;

namespace ActorVmm.TestSupport.DeviceTree;

/// <summary>
/// Runs the reference device-tree compiler (dtc, Debian's device-tree-compiler) on blobs the tests write. Missing dtc
/// is a loud failure, not a skip: `./build.sh test` and CI install it.
/// </summary>
public static class Dtc
{
    /// <summary>
    /// Every dtc check by name (dtc 1.6's checks.c), so the ones off by default (the strict name checks, the unit
    /// address and address-size checks) run too. <c>always_fail</c> is left out: it fails every node by design.
    /// </summary>
    public static IReadOnlyList<string> AllChecks { get; } =
    [
        "graph_endpoint", "graph_port", "graph_child_address", "graph_nodes", "interrupts_property", "interrupt_provider",
        "deprecated_gpio_property", "gpios_property", "thermal_sensors_property", "sound_dai_property", "resets_property",
        "pwms_property", "power_domains_property", "phys_property", "mux_controls_property", "msi_parent_property",
        "mboxes_property", "iommus_property", "io_channels_property", "interrupts_extended_property", "hwlocks_property",
        "dmas_property", "cooling_device_property", "clocks_property", "chosen_node_stdout_path", "chosen_node_bootargs",
        "chosen_node_is_root", "unique_unit_address", "unique_unit_address_if_enabled", "avoid_unnecessary_addr_size",
        "avoid_default_addr_size", "unit_address_format", "unit_address_vs_reg", "spi_bus_reg", "spi_bus_bridge",
        "i2c_bus_reg", "i2c_bus_bridge", "simple_bus_reg", "simple_bus_bridge", "pci_device_reg", "pci_device_bus_num",
        "pci_bridge", "dma_ranges_format", "reg_format", "ranges_format", "addr_size_cells", "alias_paths",
        "names_is_string_list", "compatible_is_string_list", "label_is_string", "status_is_string", "model_is_string",
        "device_type_is_string", "size_cells_is_cell", "address_cells_is_cell", "path_references",
        "phandle_references", "name_properties", "name_is_string", "explicit_phandles", "duplicate_label",
        "property_name_chars", "property_name_chars_strict", "node_name_vs_property_name", "node_name_format",
        "node_name_chars", "node_name_chars_strict", "duplicate_property_names", "duplicate_node_names",
        "obsolete_chosen_interrupt_controller",
    ];

    /// <summary>What one dtc run printed.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>stderr as lines, empty ones dropped.</summary>
        public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Decompiles <paramref name="blob"/> to source with every check enabled (<c>dtc -I dtb -O dts -W ...</c>).</summary>
    public static Result Decompile(byte[] blob) => Run(blob, "dtb", "dts", AllChecks);

    /// <summary>Compiles <paramref name="source"/> to a blob (<c>dtc -I dts -O dtb</c>); the blob is the result's bytes.</summary>
    public static (Result Result, byte[] Blob) Compile(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return RunToBytes(System.Text.Encoding.ASCII.GetBytes(source), "dts");
    }

    /// <summary>Reads <paramref name="blob"/> into dtc's tree and writes it back (<c>dtc -I dtb -O dtb</c>).</summary>
    public static (Result Result, byte[] Blob) Rewrite(byte[] blob) => RunToBytes(blob, "dtb");

    private static (Result, byte[]) RunToBytes(byte[] input, string inputFormat)
    {
        string output = Path.Combine(Path.GetTempPath(), $"actorvmm-dtc-{Guid.NewGuid():N}.dtb");
        try
        {
            var result = Run(input, inputFormat, "dtb", [], output);
            return (result, result.ExitCode == 0 ? File.ReadAllBytes(output) : []);
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static Result Run(byte[] input, string inputFormat, string outputFormat, IReadOnlyList<string> checks, string? output = null)
    {
        string inputPath = Path.Combine(Path.GetTempPath(), $"actorvmm-dtc-{Guid.NewGuid():N}.{inputFormat}");
        File.WriteAllBytes(inputPath, input);
        try
        {
            var info = new ProcessStartInfo("dtc") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string arg in new[] { "-I", inputFormat, "-O", outputFormat })
            {
                info.ArgumentList.Add(arg);
            }

            foreach (string check in checks)
            {
                info.ArgumentList.Add("-W");
                info.ArgumentList.Add(check);
            }

            if (output is not null)
            {
                info.ArgumentList.Add("-o");
                info.ArgumentList.Add(output);
            }

            info.ArgumentList.Add(inputPath);
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException("dtc did not start");
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new InvalidOperationException(
                    "dtc is not installed: apt-get install device-tree-compiler (./build.sh test installs it where it is missing)", ex);
            }

            using (process)
            {
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                process.WaitForExit();
                return new Result(process.ExitCode, stdout.Result, stderr.Result);
            }
        }
        finally
        {
            File.Delete(inputPath);
        }
    }
}
