using System.Text.Json;
using Vbase.Architectures;
using Vbase.Sapi;
using Vbase.Sapi.Lifecycle;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Tests.Boundary;

/// <summary>
/// A plug-in with a bug: it throws from the hook its <c>throw_in</c> parameter names (after <c>after</c> calls of
/// it). Everything else is the paper's lifecycle with plaintext on chip for the application.
/// </summary>
[Architecture("throwing", "test: throws from one hook", Principal.Application)]
public sealed class ThrowingArchitecture : RegionArchitectureBase
{
    private readonly string hook;
    private readonly int after;
    private int calls;

    public ThrowingArchitecture(ArchitectureOptions options)
    {
        hook = options.Parameters.TryGetValue("throw_in", out string? h) ? h : "fill";
        after = options.Parameters.TryGetValue("after", out string? a) ? int.Parse(a, System.Globalization.CultureInfo.InvariantCulture) : 0;
        Throw("constructor");
    }

    public override string Name => "throwing";

    private void Throw(string at)
    {
        if (at == hook && calls++ >= after)
        {
            throw new InvalidOperationException($"deliberate failure in {at}");
        }
    }

    protected override void OnAttached()
    {
        base.OnAttached();
        Throw("attach");
    }

    protected override void Seal(VbaseOpCall call, ProtectedRegion region)
    {
        Throw("enter");
        Host.MarkSealed(region);
    }

    public override PageView DecideView(in MemoryAccessContext access) => access.IsApplication ? PageView.Plaintext : PageView.Dram;

    public override bool OnFill(in LineContext line, ReadOnlySpan<byte> dram, Span<byte> plaintext)
    {
        if (!line.Inspection)
        {
            Throw("fill");
        }
        return base.OnFill(line, dram, plaintext);
    }

    public override void OnWriteBack(in LineContext line, ReadOnlySpan<byte> plaintext, Span<byte> dram)
    {
        Throw("write_back");
        base.OnWriteBack(line, plaintext, dram);
    }
}

/// <summary>
/// A plug-in that throws ends its run with an <c>error</c> verdict naming the architecture, the hook and the exception,
/// and the run's outputs are still written: the summary (with the failure) and the event log (ending with it).
/// </summary>
public sealed class FailingArchitectureTests : IDisposable
{
    private static readonly ArchitectureRegistry Registry = BuiltInArchitectures.CreateRegistry().Register(typeof(ThrowingArchitecture));
    private readonly string outDirectory = Path.Combine(Path.GetTempPath(), "vbase-failing-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(outDirectory))
        {
            Directory.Delete(outDirectory, recursive: true);
        }
    }

    private AttackRunResult Run(string throwIn, string after = "0") =>
        AttackRunner.Run(new AttackRunRequest("throwing", "phys-replay", "vault", 1, outDirectory)
        {
            Registry = Registry,
            ArchitectureParameters = new Dictionary<string, string> { ["throw_in"] = throwIn, ["after"] = after },
        });

    [Theory]
    [InlineData("constructor", "constructor")]
    [InlineData("attach", "Attach")]
    [InlineData("enter", "OnVbaseOp")]
    [InlineData("fill", "OnFill")]
    [InlineData("write_back", "OnWriteBack")]
    public void AThrowingHookEndsTheRunWithAnErrorVerdictAndItsSummary(string throwIn, string hook)
    {
        AttackRunResult r = Run(throwIn, throwIn == "fill" ? "5" : "0");

        Assert.Equal(Verdict.Error, r.Verdict);
        Assert.Equal($"architecture throwing failed in {hook}: InvalidOperationException: deliberate failure in {throwIn}", r.Evidence);

        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.SummaryFile)));
        Assert.Equal("architecture_failed", summary.RootElement.GetProperty("outcome").GetString());
        Assert.False(summary.RootElement.GetProperty("succeeded").GetBoolean());
        JsonElement failure = summary.RootElement.GetProperty("failure");
        Assert.Equal("throwing", failure.GetProperty("arch").GetString());
        Assert.Equal(hook, failure.GetProperty("hook").GetString());
        Assert.Equal("InvalidOperationException", failure.GetProperty("exception").GetString());
        Assert.Equal($"deliberate failure in {throwIn}", failure.GetProperty("reason").GetString());

        string last = File.ReadLines(Path.Combine(outDirectory, Running.Testbed.EventsFile)).Last();
        using JsonDocument e = JsonDocument.Parse(last);
        Assert.Equal("sapi.architecture_failed", e.RootElement.GetProperty("kind").GetString());
        Assert.Equal(hook, e.RootElement.GetProperty("fields").GetProperty("hook").GetString());
    }

    [Fact]
    public void ARunStoppedMidWayStillReportsTheDomainsItBuilt()
    {
        Run("fill", "5");
        using JsonDocument summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.SummaryFile)));
        JsonElement domains = summary.RootElement.GetProperty("domains");
        Assert.Equal("app", domains[0].GetProperty("name").GetString());
        Assert.NotEqual("shutdown", domains[0].GetProperty("state").GetString());
        Assert.True(summary.RootElement.GetProperty("instructions").GetUInt64() > 0);
    }

    [Fact]
    public void TheSameFailureGivesTheSameOutputsByteForByte()
    {
        Run("fill", "5");
        string first = File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.EventsFile));
        string firstSummary = File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.SummaryFile));
        Directory.Delete(outDirectory, recursive: true);
        Run("fill", "5");
        Assert.Equal(first, File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.EventsFile)));
        Assert.Equal(firstSummary, File.ReadAllText(Path.Combine(outDirectory, Running.Testbed.SummaryFile)));
    }
}
