using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Sapi;

/// <summary>
/// A plug-in that changes nothing: every access passes, every sub-call is unknown. Architectures derive from it
/// and override the hooks their design needs; <see cref="Host"/> is set by <see cref="Attach"/>.
/// </summary>
public abstract class SecureArchitectureBase : ISecureArchitecture
{
    private SapiHost? host;

    public abstract string Name { get; }

    /// <summary>The hypervisor's services; available from <see cref="OnAttached"/> on.</summary>
    protected SapiHost Host => host ?? throw new InvalidOperationException($"{Name} is not attached to a hypervisor");

    public virtual int SecureRegisterCount => 0;

    public void Attach(SapiHost host)
    {
        if (this.host is not null)
        {
            throw new InvalidOperationException($"{Name} is already attached");
        }
        this.host = host;
        OnAttached();
    }

    /// <summary>Claim VIRQs, set up keys and tables.</summary>
    protected virtual void OnAttached()
    {
    }

    public virtual long OnVbaseOp(VbaseOpCall call) => Errno.ENOSYS;

    public virtual void OnSecureTransition(SecureTransition transition)
    {
    }

    public virtual AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data) => AccessVerdict.Pass;

    public virtual AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data) => AccessVerdict.Pass;

    public virtual bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester) => true;

    public virtual void OnDomainLaunched(DomainId domain)
    {
    }

    public virtual void OnDomainDestroyed(DomainId domain)
    {
    }

    public virtual bool AllowVmMemoryWrite(DomainId owner, Mfn mfn, Accessor writer) => true;

    public virtual PageView DecideView(in MemoryAccessContext access) => PageView.EveryAccess;

    public virtual bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        dram.CopyTo(plaintext);
        return true;
    }

    public virtual void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram) => plaintext.CopyTo(dram);

    public virtual void FlushMetadata()
    {
    }

    public virtual IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) => [];

    public virtual IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) => [];

    public virtual void OnRegionForgotten(ProtectedRegion region)
    {
    }
}
