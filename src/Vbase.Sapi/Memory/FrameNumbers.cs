namespace Vbase.Sapi.Memory;

/// <summary>A machine frame number: an index into machine memory ("DRAM"), never seen by a guest.</summary>
public readonly record struct Mfn(ulong Value)
{
    public override string ToString() => $"mfn {Value:x}";
}

/// <summary>A guest frame number: a guest-physical page in one domain's p2m (GPA >> 12).</summary>
public readonly record struct Gfn(ulong Value)
{
    public GuestPhysicalAddress Address => new(Value << PageSize.Shift);
    public override string ToString() => $"gfn {Value:x}";
}

/// <summary>An address in a domain's guest-physical space (what the guest kernel calls physical).</summary>
public readonly record struct GuestPhysicalAddress(ulong Value)
{
    public Gfn Gfn => new(Value >> PageSize.Shift);
    public int PageOffset => (int)(Value & PageSize.Mask);
    public override string ToString() => $"gpa {Value:x}";
}

/// <summary>An address in a guest's virtual space (before its own Sv39 translation).</summary>
public readonly record struct GuestVirtualAddress(ulong Value)
{
    public override string ToString() => $"gva {Value:x}";
}

public static class PageSize
{
    public const int Shift = 12;
    public const int Bytes = 1 << Shift;
    public const ulong Mask = Bytes - 1;
}
