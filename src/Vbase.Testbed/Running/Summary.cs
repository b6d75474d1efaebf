using System.Text.Json;

namespace Vbase.Testbed.Running;

/// <summary>
/// summary.json: the run's outcome per domain and in total, in virtual time only, so that the same scenario and
/// seed give the same bytes (docs/scenarios.md).
/// </summary>
public static class Summary
{
    public static byte[] ToJson(TestbedResult result)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            json.WriteStartObject();
            json.WriteString("scenario", result.Scenario.Name);
            json.WriteNumber("seed", result.Scenario.Seed);
            json.WriteString("outcome", Snake(result.Outcome.ToString()));
            json.WriteBoolean("succeeded", result.Succeeded);
            if (result.Failure is ArchitectureFailure failure)
            {
                json.WriteStartObject("failure");
                json.WriteString("arch", failure.Architecture);
                json.WriteString("hook", failure.Hook);
                json.WriteString("exception", failure.Exception);
                json.WriteString("reason", failure.Reason);
                json.WriteEndObject();
            }
            json.WriteNumber("virtual_time", result.VirtualTime);
            json.WriteNumber("instructions", result.Instructions);
            if (result.MaxInstructions is ulong max)
            {
                json.WriteNumber("max_instructions", max);
            }
            else
            {
                json.WriteNull("max_instructions");
            }
            json.WriteStartArray("domains");
            foreach (DomainResult domain in result.Domains)
            {
                json.WriteStartObject();
                json.WriteString("name", domain.Name);
                json.WriteNumber("domain_id", domain.DomainId);
                json.WriteString("state", Snake(domain.Outcome.State.ToString()));
                if (domain.Outcome.Reason is ShutdownReason reason)
                {
                    json.WriteString("shutdown_reason", Snake(reason.ToString()));
                }
                else
                {
                    json.WriteNull("shutdown_reason");
                }
                if (domain.Outcome.ExitCode is long code)
                {
                    json.WriteNumber("exit_code", code);
                }
                else
                {
                    json.WriteNull("exit_code");
                }
                json.WriteNumber("instructions", domain.Outcome.Instructions);
                json.WriteNumber("console_bytes", domain.ConsoleBytes);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (result.Traffic is Vbase.Sapi.Chip.DramTraffic traffic)
            {
                WriteCost(json, "dram", traffic, result.Chip);
            }
            if (result.Baseline?.Traffic is Vbase.Sapi.Chip.DramTraffic reference && result.Traffic is Vbase.Sapi.Chip.DramTraffic own)
            {
                json.WriteStartObject("against_none");
                WriteComparison(json, own, reference, result.Chip.Latencies);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>A run's traffic at the chip boundary and the cost model's estimate (docs/architectures.md, "cost model").</summary>
    public static void WriteCost(Utf8JsonWriter json, string name, Vbase.Sapi.Chip.DramTraffic t, Vbase.Sapi.Chip.ChipOptions chip)
    {
        json.WriteStartObject(name);
        json.WriteNumber("cache_bytes", chip.CacheBytes);
        json.WriteNumber("cache_ways", chip.Ways);
        json.WriteNumber("data_reads", t.DataReads);
        json.WriteNumber("data_writes", t.DataWrites);
        json.WriteNumber("metadata_reads", t.MetadataReads);
        json.WriteNumber("metadata_writes", t.MetadataWrites);
        json.WriteNumber("protected_hits", t.Hits);
        json.WriteNumber("hit_rate", Math.Round(t.HitRate, 6));
        json.WriteNumber("cipher_ops", t.CipherOps);
        json.WriteNumber("mac_ops", t.MacOps);
        json.WriteNumber("instructions", t.Instructions);
        json.WriteNumber("cycles", t.Cycles(chip.Latencies));
        json.WriteEndObject();
    }

    /// <summary>Extra DRAM lines and the estimated slowdown of <paramref name="own"/> against <paramref name="reference"/>.</summary>
    public static void WriteComparison(Utf8JsonWriter json, Vbase.Sapi.Chip.DramTraffic own, Vbase.Sapi.Chip.DramTraffic reference,
        Vbase.Sapi.Chip.CostLatencies latencies)
    {
        json.WriteNumber("extra_dram_lines", own.Lines - reference.Lines);
        json.WriteNumber("dram_traffic_ratio", reference.Lines == 0 ? 0 : Math.Round((double)own.Lines / reference.Lines, 4));
        json.WriteNumber("slowdown", Math.Round(Slowdown(own, reference, latencies), 4));
    }

    /// <summary>Estimated cycles of <paramref name="own"/> over those of <paramref name="reference"/> (1 = as fast).</summary>
    public static double Slowdown(Vbase.Sapi.Chip.DramTraffic own, Vbase.Sapi.Chip.DramTraffic reference, Vbase.Sapi.Chip.CostLatencies latencies)
    {
        ulong baseCycles = reference.Cycles(latencies);
        return baseCycles == 0 ? 1 : (double)own.Cycles(latencies) / baseCycles;
    }

    /// <summary>AllShutDown → all_shut_down.</summary>
    internal static string Snake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
