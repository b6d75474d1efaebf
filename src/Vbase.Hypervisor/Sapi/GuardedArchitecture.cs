using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Sapi;

/// <summary>
/// A plug-in threw: the run cannot go on (the machine may be half-way through an access), but it is the plug-in's
/// failure, not the testbed's. The testbed ends the run with an <c>error</c> verdict naming the architecture, the hook
/// and the exception, and still writes the run's outputs.
/// </summary>
public sealed class ArchitectureFailedException(string architecture, string hook, Exception cause)
    : Exception($"architecture {architecture} failed in {hook}: {cause.GetType().Name}: {cause.Message}", cause)
{
    public string Architecture { get; } = architecture;
    /// <summary>The SAPI call that threw (<c>OnFill</c>, <c>Attach</c>…).</summary>
    public string Hook { get; } = hook;
}

/// <summary>
/// How the hypervisor calls a plug-in: every hook through one try/catch that turns an exception into
/// <see cref="ArchitectureFailedException"/> (once: a hook the plug-in's own host call re-entered is not wrapped
/// twice). A sealed class, so the calls stay direct; hooks run per registration, fill, write-back and TLB fill,
/// never per cache hit.
/// </summary>
internal sealed class GuardedArchitecture(ISecureArchitecture plugIn) : ISecureArchitecture
{
    public ISecureArchitecture PlugIn { get; } = plugIn;

    public string Name => PlugIn.Name;

    public int SecureRegisterCount => Guard(static (p, _) => p.SecureRegisterCount, 0);

    public void Attach(SapiHost host) => Guard(static (p, h) => { p.Attach(h); return 0; }, host);

    public long OnVbaseOp(VbaseOpCall call) => Guard(static (p, c) => p.OnVbaseOp(c), call);

    public void OnSecureTransition(SecureTransition transition) =>
        Guard(static (p, t) => { p.OnSecureTransition(t); return 0; }, transition);

    public AccessVerdict OnRead(in MemoryAccessContext access, Span<byte> data)
    {
        try
        {
            return PlugIn.OnRead(access, data);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(OnRead), e);
        }
    }

    public AccessVerdict OnWrite(in MemoryAccessContext access, ReadOnlySpan<byte> data)
    {
        try
        {
            return PlugIn.OnWrite(access, data);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(OnWrite), e);
        }
    }

    public bool OnP2mChange(DomainId domain, Gfn gfn, P2mEntry current, P2mEntry proposed, Accessor requester)
    {
        try
        {
            return PlugIn.OnP2mChange(domain, gfn, current, proposed, requester);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(OnP2mChange), e);
        }
    }

    public void OnDomainLaunched(DomainId domain) => Guard(static (p, d) => { p.OnDomainLaunched(d); return 0; }, domain);

    public void OnDomainDestroyed(DomainId domain) => Guard(static (p, d) => { p.OnDomainDestroyed(d); return 0; }, domain);

    public bool AllowVmMemoryWrite(DomainId owner, Mfn mfn, Accessor writer) =>
        Guard(static (p, a) => p.AllowVmMemoryWrite(a.owner, a.mfn, a.writer), (owner, mfn, writer));

    public PageView DecideView(in MemoryAccessContext access)
    {
        try
        {
            return PlugIn.DecideView(access);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(DecideView), e);
        }
    }

    public bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        try
        {
            return PlugIn.OnFill(line, dram, plaintext);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(OnFill), e);
        }
    }

    public void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        try
        {
            PlugIn.OnWriteBack(line, plaintext, dram);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(nameof(OnWriteBack), e);
        }
    }

    public void FlushMetadata() => Guard(static (p, _) => { p.FlushMetadata(); return 0; }, 0);

    public IReadOnlyList<MetadataRange> DescribeMetadata(ProtectedRegion region, int page, int line) =>
        Guard(static (p, a) => p.DescribeMetadata(a.region, a.page, a.line), (region, page, line));

    public IReadOnlyList<KeyValuePair<string, string>> DescribeRegion(ProtectedRegion region) =>
        Guard(static (p, r) => p.DescribeRegion(r), region);

    public void OnRegionForgotten(ProtectedRegion region) => Guard(static (p, r) => { p.OnRegionForgotten(r); return 0; }, region);

    private TResult Guard<TArg, TResult>(Func<ISecureArchitecture, TArg, TResult> call, TArg arg,
        [System.Runtime.CompilerServices.CallerMemberName] string hook = "")
    {
        try
        {
            return call(PlugIn, arg);
        }
        catch (Exception e) when (e is not ArchitectureFailedException)
        {
            throw Failed(hook, e);
        }
    }

    private ArchitectureFailedException Failed(string hook, Exception e) => new(SafeName(), hook, e);

    private string SafeName()
    {
        try
        {
            return PlugIn.Name;
        }
        catch (Exception)
        {
            return PlugIn.GetType().Name;
        }
    }
}
