namespace ActorVmm.Machine.Interop;

/// <summary>
/// Marks a struct that mirrors a C struct. The header check test reflects over every such struct
/// (recursing into nested anonymous structs) and compares sizeof/offsetof with what gcc reports.
/// </summary>
/// <param name="cName">The C struct tag; defaults to the C# type name.</param>
[AttributeUsage(AttributeTargets.Struct)]
internal sealed class CStructAttribute(string? cName = null) : Attribute
{
    /// <summary>The C struct tag, or null for the C# type name.</summary>
    public string? CName { get; } = cName;
}

/// <summary>
/// Marks a class whose UPPER_CASE integral constants and static readonly fields are C macros
/// (KVM_RUN, KVM_EXIT_IO, O_RDWR). The header check compares each value with the C headers.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class CConstantsAttribute : Attribute
{
}
