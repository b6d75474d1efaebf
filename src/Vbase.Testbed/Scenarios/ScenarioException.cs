using Vbase.Testbed.Yaml;

namespace Vbase.Testbed.Scenarios;

/// <summary>
/// A scenario file that cannot be run, with where and what: <c>scenarios/x.yaml:7:5: domains[1].memory: '12Q' is
/// not a size (use e.g. 16M)</c>.
/// </summary>
public sealed class ScenarioException(string file, int line, int column, string field, string problem)
    : LocatedYamlException(file, line, column, field, problem);
