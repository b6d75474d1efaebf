namespace Vbase.Sapi.Domains;

/// <summary>A domain id (domid). 0 is Dom0, the privileged C# domain.</summary>
public readonly record struct DomainId(ushort Value)
{
    public static readonly DomainId Dom0 = new(0);

    /// <summary>Xen's DOMID_XEN: the owner of frames the hypervisor keeps for itself (an architecture's metadata area).</summary>
    public static readonly DomainId Xen = new(0x7FF2);
    public override string ToString() => $"d{Value}";
}
