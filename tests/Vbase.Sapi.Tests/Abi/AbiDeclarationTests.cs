using System.Reflection;
using Vbase.AbiGen;
using Vbase.Sapi.Abi;

namespace Vbase.Sapi.Tests.Abi;

/// <summary>
/// The guest ABI is declared once (src/Vbase.Sapi/Abi/abi.yaml): the generated files must be what the declaration
/// gives, and the compiled constants (generated or kept by hand elsewhere) must carry the declared values.
/// </summary>
public sealed class AbiDeclarationTests
{
    private static readonly string Root = AbiGenerator.FindRepoRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("no repository above the test binaries");

    private static readonly AbiModel Model = AbiModel.Load(Path.Combine(Root, AbiModel.DeclarationPath));

    /// <summary>Where cs_check constants may live: the SAPI and the hypervisor.</summary>
    private static readonly Assembly[] Assemblies = [typeof(GuestLayout).Assembly, typeof(global::Vbase.Hypervisor.Hypervisor).Assembly];

    /// <summary>Groups whose values name different things: two equal values there would be a real ABI bug.</summary>
    private static readonly string[] MustBeDistinct =
    [
        "layout", "errno", "hypercalls", "memory-op", "console-io", "vcpu-op", "sched-op", "shutdown", "evtchn-op",
        "evtchn-state", "virq", "vbase-op", "gnttab-op", "gnttab-copy-flags",
    ];

    [Fact]
    public void GeneratedFilesAreUpToDate()
    {
        var wrong = AbiGenerator.OutOfDate(Root);
        Assert.True(wrong.Count == 0, $"out of date (run {Emitters.RegenerateCommand}): {string.Join(", ", wrong)}");
    }

    [Fact]
    public void EveryCSharpConstantHasItsDeclaredValueAndType()
    {
        int checkedCount = 0;
        foreach (var (typeName, c) in Model.CsConstants)
        {
            var type = typeof(GuestLayout).Assembly.GetType($"Vbase.Sapi.Abi.{typeName}")
                ?? throw new Xunit.Sdk.XunitException($"Vbase.Sapi.Abi.{typeName} does not exist");
            var field = type.GetField(c.CsName!, BindingFlags.Public | BindingFlags.Static)
                ?? throw new Xunit.Sdk.XunitException($"{typeName}.{c.CsName} does not exist");
            if (type.IsEnum)
            {
                Assert.Equal(c.Value, Convert.ToInt64(field.GetValue(null), null));
            }
            else
            {
                Assert.True(field.IsLiteral, $"{typeName}.{c.CsName} is not a constant");
                Assert.Equal(CsType(c.CsType!), field.FieldType);
                object raw = field.GetRawConstantValue()!;
                if (c.Text is not null)
                {
                    Assert.Equal(c.Text, raw);
                }
                else
                {
                    Assert.True(c.Value == ToInt64(raw), $"{typeName}.{c.CsName} is {raw}, declared {c.Value}");
                }
            }
            checkedCount++;
        }
        Assert.True(checkedCount > 100, $"only {checkedCount} constants checked");
    }

    [Fact]
    public void ConstantsKeptByHandElsewhereHaveTheDeclaredValue()
    {
        var checks = Model.AllConstants.Where(c => c.CsCheck is not null).ToList();
        Assert.NotEmpty(checks);
        foreach (var c in checks)
        {
            int dot = c.CsCheck!.LastIndexOf('.');
            string typeName = c.CsCheck[..dot], member = c.CsCheck[(dot + 1)..];
            var type = Assemblies.Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null)
                ?? throw new Xunit.Sdk.XunitException($"{typeName} does not exist");
            var field = type.GetField(member, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                ?? throw new Xunit.Sdk.XunitException($"{c.CsCheck} does not exist");
            Assert.True(c.Value == ToInt64(field.GetRawConstantValue()!), $"{c.CsCheck} is {field.GetRawConstantValue()}, declared {c.Value}");
        }
    }

    /// <summary>No constant is added to the ABI's types by hand, past the declaration.</summary>
    [Fact]
    public void EveryConstantOfTheAbiNamespaceIsDeclared()
    {
        var declared = Model.CsConstants.Select(c => $"{c.Type}.{c.Constant.CsName}").ToHashSet(StringComparer.Ordinal);
        var compiled = typeof(GuestLayout).Assembly.GetTypes().Where(t => t.Namespace == "Vbase.Sapi.Abi")
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => $"{t.Name}.{f.Name}"))
            .ToList();
        var undeclared = compiled.Where(n => !declared.Contains(n)).ToList();
        Assert.True(undeclared.Count == 0, $"not in the declaration: {string.Join(", ", undeclared)}");
        Assert.Equal(declared.Count, compiled.Count);
    }

    [Fact]
    public void NumbersThatNameDifferentThingsAreDistinct()
    {
        foreach (string id in MustBeDistinct)
        {
            var group = Model.Groups.Single(g => g.Decl.Docs == id);
            Assert.True(group.Decl.Distinct, $"group {id} must be declared distinct");
            // The compiled values, not the declared ones: a hand edit of a generated file shows here too.
            var values = group.Constants.Where(c => !c.Marker && c.CsName is not null).Select(c => (c.CsName, Value: CompiledValue(group.Decl.Cs!, c.CsName!)));
            foreach (var same in values.GroupBy(v => v.Value).Where(s => s.Count() > 1))
            {
                Assert.Fail($"{group.Decl.Cs}: {string.Join(" and ", same.Select(s => s.CsName))} share the value {same.Key}");
            }
        }
    }

    /// <summary>The kernel's link address is the one number C takes from a linker script, not from the header.</summary>
    [Fact]
    public void TheKernelIsLinkedAtTheDeclaredBase()
    {
        long kernelBase = Model.Groups.Single(g => g.Decl.Docs == "layout").Constants.Single(c => c.CsName == "KernelBase").Value;
        string script = File.ReadAllText(Path.Combine(Root, "guest/link-kernel.ld"));
        Assert.Contains($". = 0x{kernelBase:x};", script, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("structs: [{c: s, docs: s, size: 16, fields: [{name: a, type: u32, offset: 0}, {name: b, type: u64, offset: 4}]}]",
        "declared at offset 4, but C puts it at 8")]
    [InlineData("structs: [{c: s, docs: s, size: 12, fields: [{name: a, type: u64, offset: 0}, {name: b, type: u32, offset: 8}]}]",
        "declared 12 bytes, but its fields make 16")]
    [InlineData("groups: [{docs: g, cs: G, cs_type: int, distinct: true, items: [{cs: A, value: 1}, {cs: B, value: 1}, {cs: Last, value: 1, marker: true}]}]",
        "A and B share the value 1")]
    [InlineData("groups: [{docs: g, items: [{c: X, valu: 1}]}]", "valu")]
    [InlineData("structs: [{c: s, docs: s, size: 8, fields: [{name: a, type: u64, count: NOPE, offset: 0}]}]", "count NOPE is no declared C constant")]
    public void ABadDeclarationIsRefused(string yaml, string message)
    {
        var e = Assert.Throws<AbiException>(() => AbiModel.Parse(yaml));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADocsPageWithoutATableForADeclaredGroupIsRefused()
    {
        var model = AbiModel.Parse("groups:\n  - {docs: g, items: [{c: X, value: 1}]}\n");
        var e = Assert.Throws<AbiException>(() => Emitters.Docs(model, "# prose only\n"));
        Assert.Contains("no table for: g", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDocsKeepTheirProseAndReplaceOnlyTheTable()
    {
        var model = AbiModel.Parse("groups:\n  - {docs: g, items: [{c: X, value: 7, doc: seven}]}\n");
        string docs = Emitters.Docs(model, "before\n<!-- generated: g -->\nstale\n<!-- end generated: g -->\nafter\n");
        Assert.Equal("before\n<!-- generated: g -->\n\n| value | C | C# | meaning |\n|---|---|---|---|\n| `7` | `X` |  | seven |\n\n<!-- end generated: g -->\nafter\n", docs);
    }

    private static long CompiledValue(string typeName, string member)
    {
        var field = typeof(GuestLayout).Assembly.GetType($"Vbase.Sapi.Abi.{typeName}")!.GetField(member)!;
        return field.FieldType.IsEnum ? Convert.ToInt64(field.GetValue(null), null) : ToInt64(field.GetRawConstantValue()!);
    }

    private static long ToInt64(object value) => value is ulong u ? checked((long)u) : Convert.ToInt64(value, null);

    private static Type CsType(string name) => name switch
    {
        "ulong" => typeof(ulong),
        "long" => typeof(long),
        "int" => typeof(int),
        "uint" => typeof(uint),
        "ushort" => typeof(ushort),
        "string" => typeof(string),
        _ => throw new Xunit.Sdk.XunitException($"unknown cs_type {name}"),
    };
}
