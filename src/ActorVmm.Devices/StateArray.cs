using System.Collections;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace ActorVmm.Devices;

/// <summary>
/// An immutable array compared by its items, for register files and queues inside <see cref="DeviceState"/>
/// records: <see cref="ImmutableArray{T}"/> alone compares by reference, so two captures of the same device
/// state would not be equal. The default value is empty (its <see cref="Length"/> is 0), so a state
/// built without the array fails its length check instead of throwing.
/// </summary>
[CollectionBuilder(typeof(StateArray), nameof(StateArray.Create))]
public readonly struct StateArray<T> : IReadOnlyList<T>, IEquatable<StateArray<T>>
    where T : IEquatable<T>
{
    private readonly ImmutableArray<T> _items;

    /// <summary>Wraps <paramref name="items"/> (already immutable, so nothing is copied).</summary>
    public StateArray(ImmutableArray<T> items)
    {
        _items = items;
    }

    /// <summary>Number of items (0 for the default value).</summary>
    public int Length => _items.IsDefault ? 0 : _items.Length;

    /// <inheritdoc />
    int IReadOnlyCollection<T>.Count => Length;

    /// <summary>The item at <paramref name="index"/>.</summary>
    public T this[int index] => Items[index];

    private ImmutableArray<T> Items => _items.IsDefault ? [] : _items;

    /// <summary>A copy with the item at <paramref name="index"/> replaced.</summary>
    public StateArray<T> SetItem(int index, T value) => new(Items.SetItem(index, value));

    /// <summary>Copies the items into <paramref name="destination"/> (a device's own register file).</summary>
    public void CopyTo(Span<T> destination) => Items.AsSpan().CopyTo(destination);

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(StateArray<T> other) => Items.AsSpan().SequenceEqual(other.Items.AsSpan());

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is StateArray<T> other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var item in Items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    /// <summary>The items, for logs and test failures.</summary>
    public override string ToString() => $"[{string.Join(", ", Items)}]";

    /// <summary>Item-wise equality.</summary>
    public static bool operator ==(StateArray<T> left, StateArray<T> right) => left.Equals(right);

    /// <summary>Item-wise inequality.</summary>
    public static bool operator !=(StateArray<T> left, StateArray<T> right) => !left.Equals(right);
}

/// <summary>Builds <see cref="StateArray{T}"/> values (also from collection expressions).</summary>
public static class StateArray
{
    /// <summary>A state array holding a copy of <paramref name="items"/>: later changes to the source do not reach it.</summary>
    public static StateArray<T> Create<T>(ReadOnlySpan<T> items)
        where T : IEquatable<T> => new([.. items]);
}
