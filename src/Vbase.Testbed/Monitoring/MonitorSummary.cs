using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vbase.Testbed.Monitoring;

/// <summary>The monitor's part of summary.json: <c>"monitor": {"counters": {rule: n}, "stop_reason": …}</c>.</summary>
public static class MonitorSummary
{
    /// <summary>Adds the monitor section to a summary.json text, keeping its layout (indented, "\n").</summary>
    public static byte[] AddTo(byte[] summaryJson, Dom0Monitor monitor)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        JsonObject root = JsonNode.Parse(summaryJson)!.AsObject();
        var counters = new JsonObject();
        foreach (var (name, count) in monitor.Counters)
        {
            counters[name] = count;
        }
        root["monitor"] = new JsonObject
        {
            ["counters"] = counters,
            ["watches"] = monitor.Watches.Count,
            ["lines"] = monitor.Lines.Count,
            ["stop_reason"] = monitor.StopReason,
        };
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            root.WriteTo(json);
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
