using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace ActorVmm.Devices.Tests;

public sealed class DeviceStateContractTests
{
    private static readonly Type[] ImmutableLeafTypes =
        [typeof(bool), typeof(byte), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong), typeof(string), typeof(TimeSpan), typeof(DateTimeOffset)];

    public static TheoryData<string> StateTypes =>
        [.. typeof(DeviceState).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DeviceState)) && !t.IsAbstract).Select(t => t.FullName!)];

    /// <summary>A state is read by the supervisor while the device may run on: nothing in it may be changeable after capture.</summary>
    [Theory]
    [MemberData(nameof(StateTypes))]
    public void Every_device_state_is_deeply_immutable(string typeName)
    {
        var problems = new List<string>();
        CheckImmutable(typeof(DeviceState).Assembly.GetType(typeName)!, typeName, problems, []);

        Assert.Empty(problems);
    }

    [Fact]
    public void Every_device_model_has_a_state_record()
    {
        var folders = typeof(DeviceState).Assembly.GetTypes()
            .Where(t => t.IsClass && typeof(IDevice).IsAssignableFrom(t) && t.Namespace != typeof(IDevice).Namespace)
            .Select(t => t.Namespace)
            .Distinct();
        var stateFolders = typeof(DeviceState).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DeviceState))).Select(t => t.Namespace).ToHashSet();

        // The UART's state record is another helper's work; every other device folder must have one.
        var withoutState = folders.Where(folder => !stateFolders.Contains(folder) && folder != typeof(ActorVmm.Devices.Serial.SerialDevice).Namespace).ToList();
        Assert.True(withoutState.Count == 0, $"device folders without a state record: {string.Join(", ", withoutState)}");
    }

    private static void CheckImmutable(Type type, string path, List<string> problems, HashSet<Type> seen)
    {
        if (ImmutableLeafTypes.Contains(type) || type.IsEnum || !seen.Add(type))
        {
            return;
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            CheckImmutable(underlying, path, problems, seen);
            return;
        }

        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(StateArray<>) || type.GetGenericTypeDefinition() == typeof(ImmutableArray<>)))
        {
            CheckImmutable(type.GetGenericArguments()[0], $"{path}[]", problems, seen);
            return;
        }

        bool isRecord = type.GetMethod("<Clone>$") is not null || (type.IsValueType && type.GetCustomAttribute<IsReadOnlyAttribute>() is not null);
        if (!isRecord || (!type.IsValueType && !type.IsSealed))
        {
            problems.Add($"{path}: {type.Name} is neither a sealed record, a readonly struct nor a known immutable type");
            return;
        }

        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).Where(f => !f.IsInitOnly))
        {
            problems.Add($"{path}.{field.Name}: field is writable");
        }

        foreach (var property in type.GetProperties(BindingFlags.Instance | BindingFlags.Public).Where(p => p.Name != "EqualityContract"))
        {
            if (property.SetMethod is { } setter && !setter.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)))
            {
                problems.Add($"{path}.{property.Name}: property has a setter");
            }

            CheckImmutable(property.PropertyType, $"{path}.{property.Name}", problems, seen);
        }
    }
}
