using System.Globalization;
using Vbase.Hypervisor;
using Vbase.Sapi.Abi;
using Vbase.Testbed.Attacks;

namespace Vbase.Testbed.Oracle;

/// <summary>What the Oracle looks at after a network attack on a networked application.</summary>
/// <param name="Watch">The golden request log and the server's reports (null: the application has no network).</param>
/// <param name="Finished">Both the server and the client shut down cleanly with exit code 0.</param>
/// <param name="State">How the two domains ended, in words, for the evidence.</param>
/// <param name="Refusals">Accesses the architecture refused or dropped after the attack fired (a key read from memory, say).</param>
public sealed record NetworkOracleInputs(AttackSpec Attack, SecureApp App, AttackEvidence Evidence, NetworkWatch? Watch,
    bool Finished, string State, IReadOnlyList<HypervisorEvent> Refusals);

/// <summary>
/// The Oracle's verdicts on the wire (docs/network-attacks.md): breached (confidentiality) when a declared secret is in
/// a frame the attacker read; breached (integrity) when the server acted on a request the client did not send — one
/// the golden log does not hold (forged, spliced) or more often than the client sent it (replayed); detected when the
/// server rejected a request and said so; denied when the service stopped; prevented otherwise. Evidence names the
/// frames (capture number, virtual time) and the request.
/// </summary>
public static class NetworkOracle
{
    public static Judgement Judge(NetworkOracleInputs input)
    {
        AttackEvidence e = input.Evidence;
        string did = e.Actions.Count == 0 ? "" : $"The attack: {string.Join("; ", e.Actions)}. ";
        if (e.Error is string error)
        {
            return new(Verdict.Error, null, $"{did}The harness could not carry the attack out: {error}.");
        }
        if (e.FiredAt is null)
        {
            return new(Verdict.Error, null, $"{did}The attack never fired ({input.State}).");
        }
        if (e.Inconclusive is string why || input.Watch is null)
        {
            return new(Verdict.Inconclusive, null, $"{did}The attack could not take effect: {e.Inconclusive ?? "the application has no network"}.");
        }
        NetworkWatch w = input.Watch;
        foreach ((string what, byte[] bytes) in e.Observed)
        {
            foreach (DeclaredSecret secret in input.App.Secrets)
            {
                int at = bytes.AsSpan().IndexOf(secret.Bytes);
                if (at >= 0)
                {
                    return new(Verdict.Breached, Impact.Confidentiality, string.Create(CultureInfo.InvariantCulture,
                        $"{did}The declared secret '{secret.Name}' crossed the wire readable: it is in {what}, at byte {at}."));
                }
            }
        }
        var sent = new Dictionary<ulong, int>();
        foreach (WireRequest r in w.Golden)
        {
            sent[r.Digest] = sent.GetValueOrDefault(r.Digest) + 1;
        }
        var acted = new Dictionary<ulong, int>();
        foreach (WireReport report in w.Reports.Where(r => r.Status == NetBankWire.Acted))
        {
            int times = acted[report.Ref] = acted.GetValueOrDefault(report.Ref) + 1;
            int legit = sent.GetValueOrDefault(report.Ref);
            if (times > legit)
            {
                string how = legit == 0
                    ? "which the client never sent (forged or spliced: no request of the golden log has its digest)"
                    : $"which the client sent {legit} time(s) (first in frame {w.Golden.First(g => g.Digest == report.Ref).Frame}) but the server acted on {times} times (replayed)";
                return new(Verdict.Breached, Impact.Integrity, string.Create(CultureInfo.InvariantCulture,
                    $"{did}The server acted on {Request(w, report.Ref, report.Time)} {how}; its reply, frame {report.Frame} at t={report.Time}, says so. {Summary(w)}"));
            }
        }
        if (w.Reports.FirstOrDefault(r => r.Status == NetBankWire.Rejected) is WireReport rejected)
        {
            int count = w.Reports.Count(r => r.Status == NetBankWire.Rejected);
            return new(Verdict.Detected, null, string.Create(CultureInfo.InvariantCulture,
                $"{did}The server rejected {Request(w, rejected.Ref, rejected.Time)} ({NetBankMessages.ReasonName(rejected.Reason)}) and said so in its reply, frame {rejected.Frame} at t={rejected.Time}; {count} request(s) rejected in all, none acted on that the client did not send. {Summary(w)}"));
        }
        if (!input.Finished)
        {
            return new(Verdict.Denied, null,
                $"{did}The service stopped ({input.State}); the server acted on no request the client did not send and nothing secret crossed the wire readable to the attacker. {Summary(w)}");
        }
        string refused = input.Refusals.Count > 0
            ? string.Create(CultureInfo.InvariantCulture, $"; the architecture refused or dropped {input.Refusals.Count} access(es), first at t={input.Refusals[0].Time} ({input.Refusals[0].Kind})")
            : "";
        int frames = e.Observed.Count, readBytes = e.Observed.Sum(o => o.Bytes.Length);
        string read = frames > 0 ? string.Create(CultureInfo.InvariantCulture, $"; none of the declared secrets is in the {readBytes} bytes of the {frames} payload(s) the attacker read") : "";
        return new(Verdict.Prevented, null,
            $"{did}The server acted only on requests the client sent, as often as it sent them, rejected none, and the client got every reply it expected{read}{refused}. {Summary(w)}");
    }

    /// <summary>A request by its digest: the frame that delivered it to the server, and whether Dom0 injected it.</summary>
    private static string Request(NetworkWatch w, ulong digest, ulong before)
    {
        WireRequest? delivered = w.Delivered.LastOrDefault(d => d.Digest == digest && d.Time <= before);
        return delivered is null
            ? string.Create(CultureInfo.InvariantCulture, $"request {digest:x16}")
            : string.Create(CultureInfo.InvariantCulture,
                $"request {digest:x16} (seq {delivered.Seq}, delivered in frame {delivered.Frame} at t={delivered.Time}{(delivered.Injected ? ", injected by Dom0" : "")})");
    }

    private static string Summary(NetworkWatch w) => string.Create(CultureInfo.InvariantCulture,
        $"Golden log: {w.Golden.Count} request(s) sent by the client; the server answered {w.Reports.Count}: {w.Reports.Count(r => r.Status == NetBankWire.Acted)} acted on, {w.Reports.Count(r => r.Status == NetBankWire.Resent)} resent, {w.Reports.Count(r => r.Status == NetBankWire.Rejected)} rejected.");
}
