namespace Vbase.Platform.Devices;

/// <summary>
/// A device's registers declared as data, in the manner of Renode's register collections: each entry is one
/// register, or a run of equally spaced ones (the PLIC's per-source priorities), named by an offset enum, with
/// what reading and writing it does. The bank decodes offsets and access sizes so that devices only say what
/// their registers mean.
/// </summary>
/// <typeparam name="TRegister">An enum whose values are the registers' offsets from the device base.</typeparam>
public sealed class RegisterBank<TRegister> where TRegister : struct, Enum
{
    private readonly int width;
    private readonly int maxAccess;
    private Entry[] entries = [];

    /// <param name="width">Bytes per register (1 for the 16550, 4 for the CLINT and PLIC).</param>
    /// <param name="maxAccess">
    /// The widest access the device accepts; wider than <paramref name="width"/> is split into consecutive
    /// registers, little-endian, as QEMU does (an 8-byte mtime read is the two 4-byte halves).
    /// </param>
    public RegisterBank(int width, int maxAccess)
    {
        this.width = width;
        this.maxAccess = maxAccess;
    }

    private sealed record Entry(ulong Offset, int Count, ulong Stride, string Name, Func<int, ulong>? Read, Action<int, ulong>? Write)
    {
        public bool TryIndex(ulong offset, out int index)
        {
            index = 0;
            if (offset < Offset)
            {
                return false;
            }
            ulong delta = offset - Offset;
            if (delta % Stride != 0 || delta / Stride >= (ulong)Count)
            {
                return false;
            }
            index = (int)(delta / Stride);
            return true;
        }
    }

    /// <summary>Declares one register. A null <paramref name="read"/> reads as zero; a null <paramref name="write"/> ignores writes.</summary>
    public RegisterBank<TRegister> Define(TRegister register, Func<ulong>? read, Action<ulong>? write = null) =>
        Add(register, 1, (ulong)width, register.ToString(),
            read is null ? null : _ => read(), write is null ? null : (_, v) => write(v));

    /// <summary>Declares <paramref name="count"/> registers at <paramref name="stride"/> apart, handled by index.</summary>
    public RegisterBank<TRegister> DefineArray(TRegister first, int count, ulong stride,
        Func<int, ulong>? read, Action<int, ulong>? write = null) =>
        Add(first, count, stride, first.ToString(), read, write);

    private RegisterBank<TRegister> Add(TRegister register, int count, ulong stride, string name,
        Func<int, ulong>? read, Action<int, ulong>? write)
    {
        ulong offset = Convert.ToUInt64(register, System.Globalization.CultureInfo.InvariantCulture);
        entries = [.. entries, new Entry(offset, count, stride, name, read, write)];
        return this;
    }

    /// <summary>The declared name of the register at <paramref name="offset"/> ("Priority[10]"), for logs and tests.</summary>
    public string? NameAt(ulong offset) =>
        Find(offset, out Entry? e, out int index) ? (e.Count == 1 ? e.Name : $"{e.Name}[{index}]") : null;

    /// <summary>Reads an access of <paramref name="size"/> bytes; false for sizes the device does not accept.</summary>
    public bool Read(ulong offset, int size, out ulong value)
    {
        value = 0;
        if (!SizeAccepted(offset, size))
        {
            return false;
        }
        for (int part = 0; part < size / width; part++)
        {
            ulong registerOffset = offset + (ulong)(part * width);
            ulong v = Find(registerOffset, out Entry? e, out int index) && e.Read is not null ? e.Read(index) : 0;
            value |= Mask(v) << (8 * part * width);
        }
        return true;
    }

    /// <summary>Writes an access of <paramref name="size"/> bytes; false for sizes the device does not accept.</summary>
    public bool Write(ulong offset, int size, ulong value)
    {
        if (!SizeAccepted(offset, size))
        {
            return false;
        }
        for (int part = 0; part < size / width; part++)
        {
            ulong registerOffset = offset + (ulong)(part * width);
            if (Find(registerOffset, out Entry? e, out int index) && e.Write is not null)
            {
                e.Write(index, Mask(value >> (8 * part * width)));
            }
        }
        return true;
    }

    private bool SizeAccepted(ulong offset, int size) =>
        size >= width && size <= maxAccess && offset % (ulong)width == 0;

    private ulong Mask(ulong v) => width == 8 ? v : v & ((1UL << (8 * width)) - 1);

    private bool Find(ulong offset, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Entry? entry, out int index)
    {
        foreach (Entry e in entries)
        {
            if (e.TryIndex(offset, out index))
            {
                entry = e;
                return true;
            }
        }
        entry = null;
        index = 0;
        return false;
    }
}
