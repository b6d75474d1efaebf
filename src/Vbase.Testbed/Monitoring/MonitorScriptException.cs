using Vbase.Testbed.Yaml;

namespace Vbase.Testbed.Monitoring;

/// <summary>
/// A monitoring script (or a REPL <c>watch</c> line) that cannot be used, with where and what, in the scenario
/// loader's style: <c>watch.yaml:3:7: [0].do: unknown action 'paws' (known: log, count, …)</c>.
/// </summary>
public sealed class MonitorScriptException(string file, int line, int column, string field, string problem)
    : LocatedYamlException(file, line, column, field, problem);
