using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using ActorVmm.Devices.Virtio.Block;

namespace ActorVmm.Devices.Tests.Virtio;

public sealed class ImageFileInteropTests
{
    [Fact]
    public void Every_libc_constant_the_raw_image_uses_matches_the_system_headers()
    {
        var constants = typeof(ImageFileInterop)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .ToDictionary(f => f.Name, f => Convert.ToInt64(f.GetValue(null), CultureInfo.InvariantCulture));
        var source = new StringBuilder("#define _GNU_SOURCE\n#include <stdio.h>\n#include <errno.h>\n#include <fcntl.h>\n#include <sys/file.h>\nint main(void) {\n");
        foreach (string name in constants.Keys)
        {
            source.Append("  printf(\"%s %lld\\n\", \"").Append(name).Append("\", (long long)(").Append(name).AppendLine("));");
        }

        source.AppendLine("  return 0;\n}");

        var fromC = CompileAndRun(source.ToString());

        Assert.Equal(9, constants.Count);
        Assert.All(constants, c => Assert.Equal((c.Key, fromC[c.Key]), (c.Key, c.Value)));
    }

    private static Dictionary<string, long> CompileAndRun(string source)
    {
        string dir = Directory.CreateTempSubdirectory("image-interop-check-").FullName;
        try
        {
            string c = Path.Combine(dir, "check.c");
            string exe = Path.Combine(dir, "check");
            File.WriteAllText(c, source);
            Run("gcc", ["-std=gnu11", "-Wall", "-Werror", "-o", exe, c]);
            return Run(exe, [])
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(parts => parts[0], parts => long.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{program} did not finish");
        Assert.True(process.ExitCode == 0, $"{program} failed: {errors}");
        return output;
    }
}
