namespace Vbase.Hypervisor.Domains;

/// <summary>A domain id (domid). 0 is Dom0, the privileged C# domain.</summary>
public readonly record struct DomainId(ushort Value)
{
    public static readonly DomainId Dom0 = new(0);
    public override string ToString() => $"d{Value}";
}
