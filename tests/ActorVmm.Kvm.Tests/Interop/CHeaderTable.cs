using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using ActorVmm.Kvm.Interop;
using ActorVmm.Machine.Interop;

namespace ActorVmm.Kvm.Tests.Interop;

/// <summary>One value to compare: its key (as the C program prints it), the C expression, and the C# value.</summary>
public sealed record CHeaderEntry(string Key, string CExpression, long CSharpValue);

/// <summary>
/// The single table both sides use: built by reflection from the C# interop declarations
/// ([CStruct] structs, [CConstants] classes). The C program is generated from the same entries,
/// so no expected number is written down by hand anywhere.
/// </summary>
public static partial class CHeaderTable
{
    /// <summary>Headers the generated C program includes.</summary>
    public static readonly string[] Includes =
    [
        "stddef.h", "stdio.h", "errno.h", "fcntl.h", "signal.h", "sys/mman.h", "sys/eventfd.h", "sys/epoll.h", "linux/kvm.h",
        "asm/kvm.h", "asm/kvm_para.h", "asm/bootparam.h", "asm/e820.h", "linux/screen_info.h", "linux/vfio.h",
        "linux/if.h", "linux/if_tun.h", "linux/virtio_net.h",
    ];

    /// <summary>The assemblies with C declarations: the machine layer (sys/mman.h) and the KVM backend.</summary>
    private static readonly Assembly[] InteropAssemblies = [typeof(Mman).Assembly, typeof(KvmConstants).Assembly];

    /// <summary>Every checked value.</summary>
    public static IReadOnlyList<CHeaderEntry> Entries { get; } = Build();

    /// <summary>C source that prints "key value" for every entry.</summary>
    public static string GenerateCProgram()
    {
        var c = new StringBuilder();
        foreach (string include in Includes)
        {
            c.Append("#include <").Append(include).AppendLine(">");
        }

        c.AppendLine("int main(void) {");
        foreach (var entry in Entries)
        {
            c.Append("  printf(\"%s %lld\\n\", \"").Append(entry.Key).Append("\", (long long)(").Append(entry.CExpression).AppendLine("));");
        }

        c.AppendLine("  return 0;").AppendLine("}");
        return c.ToString();
    }

    private static List<CHeaderEntry> Build()
    {
        var entries = new List<CHeaderEntry>();
        foreach (var type in InteropAssemblies.SelectMany(a => a.GetTypes()).OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            if (type.GetCustomAttribute<CConstantsAttribute>() is not null)
            {
                AddConstants(type, entries);
            }

            if (type.GetCustomAttribute<CStructAttribute>() is { } cstruct)
            {
                string cType = "struct " + (cstruct.CName ?? type.Name);
                entries.Add(new CHeaderEntry($"sizeof({cType})", $"sizeof({cType})", SizeOf(type)));
                AddFields(cType, type, prefix: string.Empty, baseOffset: 0, entries);
            }
        }

        return entries;
    }

    private static void AddConstants(Type type, List<CHeaderEntry> entries)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var field in type.GetFields(all))
        {
            bool constant = field.IsLiteral || field.IsInitOnly;
            if (!constant || !CMacroName().IsMatch(field.Name) || !field.IsPublic && !field.IsAssembly)
            {
                continue;
            }

            long value = field.GetValue(null) switch
            {
                nint n => n,
                ulong u => unchecked((long)u),
                var v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture),
            };
            entries.Add(new CHeaderEntry(field.Name, field.Name, value));
        }
    }

    private static void AddFields(string cType, Type type, string prefix, long baseOffset, List<CHeaderEntry> entries)
    {
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
        {
            string path = prefix + field.Name;
            long offset = baseOffset + Marshal.OffsetOf(type, field.Name).ToInt64();
            long size = FieldSize(field);
            entries.Add(new CHeaderEntry($"offsetof({cType}, {path})", $"offsetof({cType}, {path})", offset));
            entries.Add(new CHeaderEntry($"sizeof({cType}.{path})", $"sizeof(((({cType} *)0)->{path}))", size));

            // Anonymous nested structs (kvm_run's exit union members) are checked field by field too.
            var fieldType = field.FieldType;
            if (fieldType.IsValueType && !fieldType.IsPrimitive && fieldType.Namespace == typeof(KvmConstants).Namespace
                && field.GetCustomAttribute<FixedBufferAttribute>() is null && fieldType.GetCustomAttribute<CStructAttribute>() is null)
            {
                AddFields(cType, fieldType, path + ".", offset, entries);
            }
        }
    }

    private static long FieldSize(FieldInfo field) =>
        field.GetCustomAttribute<FixedBufferAttribute>() is { } fixedBuffer
            ? fixedBuffer.Length * SizeOf(fixedBuffer.ElementType)
            : SizeOf(field.FieldType);

    private static long SizeOf(Type type) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    [GeneratedRegex("^[A-Z][A-Z0-9_]*$")]
    private static partial Regex CMacroName();
}
