using System.Text.Encodings.Web;
using System.Text.Json;
using Vbase.Sapi.Chip;
using Vbase.Testbed.Oracle;

namespace Vbase.Testbed.Campaigns;

/// <summary>
/// A campaign as JSON (<c>vbase campaign --json</c>, docs/campaigns.md). Each cell starts with the stable fields
/// arch, attack, verdict, impact, outside_threat_model, evidence; fields added later come after them. Nothing in it
/// depends on when, where or how fast the campaign ran, so the same seed gives the same bytes.
/// </summary>
public static class CampaignJson
{
    public static byte[] ToBytes(CampaignResult result)
    {
        using var buffer = new MemoryStream();
        Write(result, buffer);
        return buffer.ToArray();
    }

    /// <summary>How campaign JSON and campaign parts are written.</summary>
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Fixed, not the platform's: the bytes must not depend on where the campaign ran.
        NewLine = "\n",
        // The file is read as JSON, never pasted into HTML, so evidence keeps its quotes and non-ASCII readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(CampaignResult result, Stream stream)
    {
        using (var json = new Utf8JsonWriter(stream, WriterOptions))
        {
            WriteObject(json, result);
        }
        stream.WriteByte((byte)'\n');
    }

    /// <summary>The campaign as one JSON object (a campaign file's sweep holds one per sub-campaign).</summary>
    internal static void WriteObject(Utf8JsonWriter json, CampaignResult result)
    {
        {
            json.WriteStartObject();
            json.WriteStartArray("cells");
            foreach (CampaignCell cell in result.Cells)
            {
                WriteCell(json, cell, result);
            }
            json.WriteEndArray();
            json.WriteStartArray("summary");
            foreach (ArchitectureSummary summary in result.Summaries)
            {
                json.WriteStartObject();
                json.WriteString("arch", summary.Architecture.Name);
                foreach (Verdict verdict in Enum.GetValues<Verdict>())
                {
                    json.WriteNumber(verdict.Name(), summary[verdict]);
                }
                json.WriteNumber("breached_inside_threat_model", summary.BreachedInsideThreatModel);
                if (summary.Cost is DramTraffic cost)
                {
                    Running.Summary.WriteCost(json, "cost", cost, result.Chip);
                    if (summary.Baseline is DramTraffic reference)
                    {
                        json.WriteStartObject("against_none");
                        Running.Summary.WriteComparison(json, cost, reference, result.Chip.Latencies);
                        json.WriteEndObject();
                    }
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            // Only when some were given, so that a campaign without them writes what it always did.
            if (!result.Plan.Parameters.IsEmpty)
            {
                WriteParameters(json, result.Plan.Parameters);
            }
            json.WriteEndObject();
        }
    }

    /// <summary><c>"parameters": {"attacks": {id: {key: value}}, "archs": {name: {key: value}}}</c>, sorted.</summary>
    internal static void WriteParameters(Utf8JsonWriter json, CampaignParameters parameters)
    {
        json.WriteStartObject("parameters");
        foreach ((string group, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> owners) in
            new[] { ("attacks", parameters.Attacks), ("archs", parameters.Architectures) })
        {
            json.WriteStartObject(group);
            foreach ((string owner, IReadOnlyDictionary<string, string> values) in owners)
            {
                json.WriteStartObject(owner);
                foreach ((string key, string value) in values)
                {
                    json.WriteString(key, value);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>One cell object, as in <c>cells</c> (campaign parts hold the same objects).</summary>
    internal static void WriteCell(Utf8JsonWriter json, CampaignCell cell, CampaignResult result)
    {
        CampaignPlan plan = result.Plan;
        json.WriteStartObject();
        json.WriteString("arch", cell.Architecture.Name);
        json.WriteString("attack", cell.Attack.Id);
        json.WriteString("verdict", cell.Verdict.Name());
        if (cell.Impact is Impact impact)
        {
            json.WriteString("impact", impact.Name());
        }
        else
        {
            json.WriteNull("impact");
        }
        json.WriteBoolean("outside_threat_model", cell.OutsideThreatModel);
        json.WriteString("evidence", cell.Result.Evidence);
        json.WriteString("app", plan.App);
        json.WriteNumber("seed", plan.Seed);
        json.WriteString("position", cell.Attack.Position.Slug());
        json.WriteString("goal", cell.Attack.Goal.Slug());
        json.WriteNumber("instructions", cell.Result.Instructions);
        json.WriteNumber("virtual_time", cell.Result.VirtualTime);
        if (cell.EventsLink is string events)
        {
            json.WriteString("events", events);
        }
        else
        {
            json.WriteNull("events");
        }
        Running.Summary.WriteCost(json, "dram_traffic", cell.Result.Traffic, result.Chip);
        json.WriteEndObject();
    }
}
