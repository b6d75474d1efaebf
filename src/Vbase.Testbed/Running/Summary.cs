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
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>AllShutDown → all_shut_down.</summary>
    internal static string Snake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
