using System.Security.Cryptography;
using System.Text.Json;
using Vbase.Sapi.Chip;
using Vbase.Sapi.Registry;
using Vbase.Testbed.Attacks;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>A campaign part that cannot be read, or parts that do not make one campaign; the message says which and why.</summary>
public sealed class CampaignPartException(string message) : Exception(message);

/// <summary>
/// What one shard of a campaign wrote (<c>vbase campaign --shard K/N --json FILE</c>, docs/campaigns.md): which
/// campaign (<see cref="CampaignId"/>, a hash of the plan and the chip), which shard, which vbase, and the cells and
/// cost runs it ran. <see cref="CampaignMerge"/> puts N of them back into the whole campaign's result.
/// </summary>
/// <param name="Runs">The shard's output folder relative to the part's own folder ('/' separators), or null when the
/// shard wrote no run folders.</param>
/// <param name="Costs">The cost runs the shard ran, by architecture; a null value is a cost run that gave no figure.</param>
public sealed record CampaignPart(string CampaignId, CampaignShard Shard, string Tool, CampaignPlan Plan, ChipOptions Chip, string? Runs,
    IReadOnlyList<CampaignCell> Cells, IReadOnlyDictionary<string, DramTraffic?> Costs);

/// <summary>Writes and reads campaign parts. A part's cells are the campaign JSON's own cell objects.</summary>
public static class CampaignPartJson
{
    /// <summary>The value of a part's <c>format</c> field; a part of another format is refused, not guessed at.</summary>
    public const string Format = "vbase-campaign-part/1";

    /// <summary>
    /// The campaign's identity: the SHA-256 (hex) of its plan and chip as a part writes them, so two parts share it
    /// exactly when their shards come from the same campaign.
    /// </summary>
    public static string CampaignId(CampaignPlan plan, ChipOptions chip)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            WritePlan(json, plan, chip);
            json.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    /// <summary>
    /// The part of shard <paramref name="shard"/>, from the result of running its work (<see cref="CampaignSharding.WorkOf"/>).
    /// </summary>
    public static byte[] ToBytes(CampaignResult result, CampaignShard shard, string tool, string? runs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, CampaignJson.WriterOptions))
        {
            WriteObject(json, result, shard, tool, runs);
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>The part as one JSON object (a campaign file's sweep part holds one per sub-campaign).</summary>
    internal static void WriteObject(Utf8JsonWriter json, CampaignResult result, CampaignShard shard, string tool, string? runs)
    {
        CampaignPlan plan = result.Plan;
        int cells = plan.Cells.Count;
        string[] costRuns = [.. CampaignSharding.WorkOf(plan, shard).Where(i => i >= cells).Select(i => plan.CostRuns[i - cells])];
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("campaign", CampaignId(plan, result.Chip));
            json.WriteString("shard", shard.ToString());
            json.WriteString("tool", tool);
            WritePlan(json, plan, result.Chip);
            if (runs is null)
            {
                json.WriteNull("runs");
            }
            else
            {
                json.WriteString("runs", runs);
            }
            json.WriteStartArray("cells");
            foreach (CampaignCell cell in result.Cells)
            {
                CampaignJson.WriteCell(json, cell, result);
            }
            json.WriteEndArray();
            json.WriteStartArray("costs");
            foreach (string architecture in costRuns)
            {
                json.WriteStartObject();
                json.WriteString("arch", architecture);
                if (result.Costs.TryGetValue(architecture, out DramTraffic? cost))
                {
                    Running.Summary.WriteCost(json, "cost", cost, result.Chip);
                }
                else
                {
                    json.WriteNull("cost");
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
    }

    private static void WritePlan(Utf8JsonWriter json, CampaignPlan plan, ChipOptions chip)
    {
        json.WriteStartObject("plan");
        json.WriteStartArray("archs");
        foreach (ArchitectureInfo architecture in plan.Architectures)
        {
            json.WriteStringValue(architecture.Name);
        }
        json.WriteEndArray();
        json.WriteStartArray("attacks");
        foreach (AttackSpec attack in plan.Attacks)
        {
            json.WriteStringValue(attack.Id);
        }
        json.WriteEndArray();
        json.WriteString("app", plan.App);
        json.WriteNumber("seed", plan.Seed);
        if (!plan.Parameters.IsEmpty)
        {
            CampaignJson.WriteParameters(json, plan.Parameters);
        }
        json.WriteStartObject("chip");
        json.WriteNumber("cache_bytes", chip.CacheBytes);
        json.WriteNumber("cache_ways", chip.Ways);
        json.WriteNumber("hit_cycles", chip.Latencies.HitCycles);
        json.WriteNumber("dram_cycles", chip.Latencies.DramCycles);
        json.WriteNumber("cipher_cycles", chip.Latencies.CipherCycles);
        json.WriteNumber("mac_cycles", chip.Latencies.MacCycles);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>The most bytes a part may have (about 150,000 cells).</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>Reads the part in file <paramref name="path"/>; messages start with the path.</summary>
    /// <exception cref="CampaignPartException">As <see cref="Read(byte[], ArchitectureRegistry, IAttackSuite)"/>, or the file
    /// cannot be read (missing, not a regular file, too large).</exception>
    public static CampaignMerge.NamedPart ReadFile(string path, ArchitectureRegistry registry, IAttackSuite suite)
    {
        try
        {
            return new CampaignMerge.NamedPart(path, Read(Vbase.Platform.Loading.InputFiles.Read(path, MaxBytes), registry, suite));
        }
        catch (Vbase.Platform.Loading.InputFileException e)
        {
            throw new CampaignPartException($"{path}: {e.Message}");
        }
        catch (CampaignPartException e)
        {
            throw new CampaignPartException($"{path}: {e.Message}");
        }
    }

    /// <summary>Reads a part, with its plan chosen again from <paramref name="registry"/> and <paramref name="suite"/>.</summary>
    /// <exception cref="CampaignPartException">Not JSON, not a part, a field missing or wrong, a campaign id that does not
    /// match its plan, or a plan this vbase cannot run.</exception>
    public static CampaignPart Read(byte[] bytes, ArchitectureRegistry registry, IAttackSuite suite)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new CampaignPartException($"not JSON ({e.Message.ReplaceLineEndings(" ")})");
        }
        using (document)
        {
            return Read(document.RootElement, registry, suite);
        }
    }

    /// <summary>A part as a JSON object (<see cref="Read(byte[], ArchitectureRegistry, IAttackSuite)"/>).</summary>
    internal static CampaignPart Read(JsonElement root, ArchitectureRegistry registry, IAttackSuite suite)
    {
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement format) || format.ValueKind != JsonValueKind.String)
            {
                throw new CampaignPartException("not a campaign part (no \"format\"; a part is what vbase campaign --shard K/N --json writes)");
            }
            if (format.GetString() != Format)
            {
                throw new CampaignPartException($"a part of format '{format.GetString()}', not {Format}");
            }
            CampaignShard shard = CampaignShard.Parse(String(root, "shard"), out string? problem)
                ?? throw new CampaignPartException($"\"shard\": {problem}");
            JsonElement planElement = Property(root, "plan", JsonValueKind.Object);
            CampaignPlan plan = ReadPlan(planElement, registry, suite);
            JsonElement chipElement = Property(planElement, "chip", JsonValueKind.Object);
            var chip = new ChipOptions
            {
                CacheBytes = Int(chipElement, "cache_bytes"),
                Ways = Int(chipElement, "cache_ways"),
                Latencies = new CostLatencies
                {
                    HitCycles = Int(chipElement, "hit_cycles"),
                    DramCycles = Int(chipElement, "dram_cycles"),
                    CipherCycles = Int(chipElement, "cipher_cycles"),
                    MacCycles = Int(chipElement, "mac_cycles"),
                },
            };
            if (chip.Problem() is string chipProblem)
            {
                throw new CampaignPartException($"\"plan.chip\": {chipProblem}");
            }
            string id = String(root, "campaign");
            if (id != CampaignId(plan, chip))
            {
                throw new CampaignPartException("its \"campaign\" id is not that of its plan (the file was edited)");
            }
            JsonElement runsElement = Property(root, "runs", JsonValueKind.Undefined);
            string? runs = runsElement.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => runsElement.GetString(),
                _ => throw new CampaignPartException("\"runs\" must be a string or null"),
            };
            var cells = new List<CampaignCell>();
            foreach (JsonElement cell in Property(root, "cells", JsonValueKind.Array).EnumerateArray())
            {
                cells.Add(ReadCell(cell, plan));
            }
            var costs = new Dictionary<string, DramTraffic?>(StringComparer.Ordinal);
            foreach (JsonElement cost in Property(root, "costs", JsonValueKind.Array).EnumerateArray())
            {
                string architecture = String(cost, "arch");
                JsonElement traffic = Property(cost, "cost", JsonValueKind.Undefined);
                if (!plan.CostRuns.Contains(architecture, StringComparer.Ordinal) || !costs.TryAdd(architecture, traffic.ValueKind == JsonValueKind.Null ? null : ReadTraffic(traffic, "cost")))
                {
                    throw new CampaignPartException($"\"costs\": '{architecture}' is not a cost run of the plan, or is there twice");
                }
            }
            return new CampaignPart(id, shard, String(root, "tool"), plan, chip, runs, cells, costs);
        }
    }

    private static CampaignPlan ReadPlan(JsonElement plan, ArchitectureRegistry registry, IAttackSuite suite)
    {
        string[] architectures = Strings(plan, "archs"), attacks = Strings(plan, "attacks");
        string app = String(plan, "app");
        JsonElement seed = Property(plan, "seed", JsonValueKind.Number);
        if (architectures.Length == 0 || attacks.Length == 0 || !seed.TryGetUInt64(out ulong seedValue))
        {
            throw new CampaignPartException("\"plan\": no architecture, no attack, or a seed that is not a whole number");
        }
        CampaignPlan chosen;
        try
        {
            chosen = CampaignPlan.Create(string.Join(',', architectures), string.Join(',', attacks), app, seedValue, registry, suite);
        }
        catch (CampaignPlanException e)
        {
            throw new CampaignPartException($"\"plan\": {e.Message}");
        }
        // Create puts names in registry and catalogue order; a plan listed otherwise was not written by this vbase.
        if (!chosen.Architectures.Select(a => a.Name).SequenceEqual(architectures) || !chosen.Attacks.Select(a => a.Id).SequenceEqual(attacks))
        {
            throw new CampaignPartException("\"plan\": its architectures or attacks are not in this vbase's order");
        }
        if (plan.TryGetProperty("parameters", out JsonElement parameters))
        {
            try
            {
                chosen = chosen with { Parameters = CampaignParameters.Parse(Settings(parameters, "attacks"), Settings(parameters, "archs"), chosen) };
            }
            catch (Exception e) when (e is CampaignParameterException or InvalidOperationException or KeyNotFoundException)
            {
                throw new CampaignPartException($"\"plan.parameters\": {e.Message}");
            }
        }
        return chosen;
    }

    /// <summary>A part's <c>parameters.attacks</c> or <c>.archs</c> back to <c>OWNER.KEY=VALUE</c> settings.</summary>
    private static IEnumerable<string> Settings(JsonElement parameters, string group)
    {
        JsonElement owners = Property(parameters, group, JsonValueKind.Object);
        foreach (JsonProperty owner in owners.EnumerateObject())
        {
            foreach (JsonProperty value in owner.Value.EnumerateObject())
            {
                yield return $"{owner.Name}.{value.Name}={value.Value.GetString()}";
            }
        }
    }

    private static CampaignCell ReadCell(JsonElement cell, CampaignPlan plan)
    {
        string architecture = String(cell, "arch"), attack = String(cell, "attack");
        ArchitectureInfo arch = plan.Architectures.FirstOrDefault(a => a.Name == architecture)
            ?? throw new CampaignPartException($"\"cells\": architecture '{architecture}' is not in the plan");
        AttackSpec spec = plan.Attacks.FirstOrDefault(a => a.Id == attack)
            ?? throw new CampaignPartException($"\"cells\": attack '{attack}' is not in the plan");
        string where = $"\"cells\" ({architecture} x {attack})";
        string verdictName = String(cell, "verdict");
        Verdict verdict = Enum.GetValues<Verdict>().Cast<Verdict?>().FirstOrDefault(v => v!.Value.Name() == verdictName)
            ?? throw new CampaignPartException($"{where}: unknown verdict '{verdictName}'");
        JsonElement impactElement = Property(cell, "impact", JsonValueKind.Undefined);
        Impact? impact = impactElement.ValueKind == JsonValueKind.Null ? null
            : Enum.GetValues<Impact>().Cast<Impact?>().FirstOrDefault(i => impactElement.ValueKind == JsonValueKind.String && i!.Value.Name() == impactElement.GetString())
                ?? throw new CampaignPartException($"{where}: unknown impact");
        JsonElement outside = Property(cell, "outside_threat_model", JsonValueKind.Undefined);
        if (outside.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new CampaignPartException($"{where}: \"outside_threat_model\" must be true or false");
        }
        JsonElement eventsElement = Property(cell, "events", JsonValueKind.Undefined);
        string? events = eventsElement.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => eventsElement.GetString(),
            _ => throw new CampaignPartException($"{where}: \"events\" must be a string or null"),
        };
        var result = new AttackRunResult(architecture, attack, plan.App, verdict, impact, outside.GetBoolean(), String(cell, "evidence"), events,
            ULong(cell, "instructions"), ULong(cell, "virtual_time"))
        {
            Traffic = ReadTraffic(Property(cell, "dram_traffic", JsonValueKind.Object), "dram_traffic"),
        };
        return new CampaignCell(arch, spec, result, events);
    }

    /// <summary>The counters <see cref="Running.Summary.WriteCost"/> writes (the derived hit rate and cycles are computed again).</summary>
    private static DramTraffic ReadTraffic(JsonElement traffic, string name)
    {
        if (traffic.ValueKind != JsonValueKind.Object)
        {
            throw new CampaignPartException($"\"{name}\" must be an object");
        }
        return new DramTraffic(Long(traffic, "data_reads"), Long(traffic, "data_writes"), Long(traffic, "metadata_reads"), Long(traffic, "metadata_writes"),
            Long(traffic, "protected_hits"), Long(traffic, "cipher_ops"), Long(traffic, "mac_ops"), ULong(traffic, "instructions"));
    }

    /// <summary>A property of the given kind (<see cref="JsonValueKind.Undefined"/>: of any kind).</summary>
    private static JsonElement Property(JsonElement element, string name, JsonValueKind kind)
    {
        if (!element.TryGetProperty(name, out JsonElement value) || (kind != JsonValueKind.Undefined && value.ValueKind != kind))
        {
            string what = kind == JsonValueKind.Undefined ? "" : $" ({kind.ToString().ToLowerInvariant()})";
            throw new CampaignPartException($"\"{name}\"{what} is missing or of the wrong type");
        }
        return value;
    }

    private static string String(JsonElement element, string name) => Property(element, name, JsonValueKind.String).GetString()!;

    private static string[] Strings(JsonElement element, string name)
    {
        JsonElement array = Property(element, name, JsonValueKind.Array);
        return [.. array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new CampaignPartException($"\"{name}\" must hold strings"))];
    }

    private static int Int(JsonElement element, string name) =>
        Property(element, name, JsonValueKind.Number).TryGetInt32(out int value) ? value : throw new CampaignPartException($"\"{name}\" is not a whole number");

    private static long Long(JsonElement element, string name) =>
        Property(element, name, JsonValueKind.Number).TryGetInt64(out long value) ? value : throw new CampaignPartException($"\"{name}\" is not a whole number");

    private static ulong ULong(JsonElement element, string name) =>
        Property(element, name, JsonValueKind.Number).TryGetUInt64(out ulong value) ? value : throw new CampaignPartException($"\"{name}\" is not a whole number");
}
