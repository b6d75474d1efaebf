using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Vbase.AbiGen;

/// <summary>src/Vbase.Sapi/Abi/abi.yaml as written (its header says what each key means).</summary>
public sealed class AbiFile
{
    public List<GroupDecl> Groups { get; set; } = [];
    public List<StructDecl> Structs { get; set; } = [];
}

public sealed class GroupDecl
{
    public string Docs { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Cs { get; set; }
    public string CsKind { get; set; } = "class";
    public string? CsDoc { get; set; }
    public string? CsType { get; set; }
    public string? CDoc { get; set; }
    public string? CSuffix { get; set; }
    public string Format { get; set; } = "dec";
    public bool CNegate { get; set; }
    public bool Distinct { get; set; }
    public List<ItemDecl> Items { get; set; } = [];
}

public sealed class ItemDecl
{
    public string? C { get; set; }
    public string? Cs { get; set; }
    public string? CsCheck { get; set; }
    public string? CsType { get; set; }
    public string? Value { get; set; }
    public int? Bit { get; set; }
    public string? Format { get; set; }
    public string? CSuffix { get; set; }
    public bool Marker { get; set; }
    public string Doc { get; set; } = "";
}

public sealed class StructDecl
{
    public string C { get; set; } = "";
    public string Docs { get; set; } = "";
    public string? Cs { get; set; }
    public string? CsDoc { get; set; }
    public string? CsSize { get; set; }
    public int Size { get; set; }
    public List<FieldDecl> Fields { get; set; } = [];
}

public sealed class FieldDecl
{
    public string Name { get; set; } = "";
    public string Type { get; set; } = "";
    public string? Count { get; set; }
    public int Offset { get; set; }
    public string? Cs { get; set; }
    public string? CsSize { get; set; }
    public string Doc { get; set; } = "";
}

/// <summary>One named value of the ABI, resolved: what every output and the tests work from.</summary>
/// <param name="CsType">The C# type of a generated constant (null: an enum member, or not generated).</param>
/// <param name="Text">A string constant's text (StartInfoLayout.Magic), else null.</param>
public sealed record AbiConstant(string? CName, string? CsType, string? CsName, string? CsCheck, long Value, string? Text, bool Hex, int? Bit, string CSuffix, bool CNegate, bool Marker, string Doc);

public sealed record AbiGroup(GroupDecl Decl, IReadOnlyList<AbiConstant> Constants);

/// <summary>A structure field with its resolved element count, element size and alignment.</summary>
public sealed record AbiField(FieldDecl Decl, int Count, bool IsArray, int ElementSize, int Align)
{
    public int Size => Count * ElementSize;
}

public sealed record AbiStruct(StructDecl Decl, IReadOnlyList<AbiField> Fields, int Align);

/// <summary>The checked declaration. Load throws <see cref="AbiException"/> naming the first inconsistency.</summary>
public sealed class AbiModel
{
    public const string DeclarationPath = "src/Vbase.Sapi/Abi/abi.yaml";

    private static readonly Dictionary<string, (int Size, string C, string Doc)> Scalars = new()
    {
        ["u8"] = (1, "uint8_t", "u8"),
        ["u16"] = (2, "uint16_t", "u16"),
        ["u32"] = (4, "uint32_t", "u32"),
        ["u64"] = (8, "uint64_t", "u64"),
        ["i32"] = (4, "int32_t", "i32"),
        ["i64"] = (8, "int64_t", "i64"),
        ["char"] = (1, "char", "char"),
    };

    public IReadOnlyList<AbiGroup> Groups { get; }
    public IReadOnlyList<AbiStruct> Structs { get; }

    private AbiModel(IReadOnlyList<AbiGroup> groups, IReadOnlyList<AbiStruct> structs)
    {
        Groups = groups;
        Structs = structs;
    }

    public static string CTypeOf(string type) => type.StartsWith("struct ", StringComparison.Ordinal) ? type : Scalars[type].C;

    /// <summary>Every constant, struct offsets and sizes included, keyed by nothing: the order of the file.</summary>
    public IEnumerable<AbiConstant> AllConstants => Groups.SelectMany(g => g.Constants).Concat(StructConstants());

    /// <summary>The C# type (class or enum) and member name of every generated C# constant, in file order.</summary>
    public IEnumerable<(string Type, AbiConstant Constant)> CsConstants =>
        Groups.Where(g => g.Decl.Cs is not null).SelectMany(g => g.Constants.Where(c => c.CsName is not null).Select(c => (g.Decl.Cs!, c)))
            .Concat(Structs.Where(s => s.Decl.Cs is not null).SelectMany(s => StructConstants(s).Select(c => (s.Decl.Cs!, c))));

    private IEnumerable<AbiConstant> StructConstants() => Structs.SelectMany(StructConstants);

    private static IEnumerable<AbiConstant> StructConstants(AbiStruct s)
    {
        foreach (var f in s.Fields)
        {
            if (f.Decl.Cs is not null)
            {
                yield return Offset(f.Decl.Cs, f.Decl.Offset, $"offset of {s.Decl.C}.{f.Decl.Name}");
            }
            if (f.Decl.CsSize is not null)
            {
                yield return Offset(f.Decl.CsSize, f.Size, $"bytes of {s.Decl.C}.{f.Decl.Name}");
            }
        }
        if (s.Decl.CsSize is not null)
        {
            yield return Offset(s.Decl.CsSize, s.Decl.Size, $"bytes of struct {s.Decl.C}");
        }
    }

    private static AbiConstant Offset(string name, int value, string doc) =>
        new(null, "int", name, null, value, null, false, null, "", false, true, doc);

    public static AbiModel Load(string path) => Parse(File.ReadAllText(path));

    public static AbiModel Parse(string yaml)
    {
        AbiFile file;
        try
        {
            file = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<AbiFile>(yaml)
                ?? throw new AbiException("the declaration is empty");
        }
        catch (YamlException e)
        {
            throw new AbiException($"{DeclarationPath}: {e.Message} (line {e.Start.Line})");
        }
        var groups = file.Groups.Select(ResolveGroup).ToList();
        var cValues = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in groups.SelectMany(g => g.Constants).Where(c => c.CName is not null))
        {
            if (!cValues.TryAdd(c.CName!, c.Value))
            {
                throw new AbiException($"the C name {c.CName} is declared twice");
            }
        }
        var structs = new List<AbiStruct>();
        foreach (var s in file.Structs)
        {
            structs.Add(ResolveStruct(s, cValues, structs));
        }
        var model = new AbiModel(groups, structs);
        CheckNames(model);
        return model;
    }

    private static AbiGroup ResolveGroup(GroupDecl g)
    {
        if (g.Cs is not null && g.CsKind is not ("class" or "enum"))
        {
            throw new AbiException($"group {g.Docs}: cs_kind is class or enum, not '{g.CsKind}'");
        }
        var constants = new List<AbiConstant>();
        foreach (var i in g.Items)
        {
            string where = $"group {g.Docs}, item {i.C ?? i.Cs ?? i.CsCheck}";
            if (i.C is null && i.Cs is null && i.CsCheck is null)
            {
                throw new AbiException($"group {g.Docs}: an item with neither c, cs nor cs_check");
            }
            if ((i.Value is null) == (i.Bit is null))
            {
                throw new AbiException($"{where}: give value or bit, one of them");
            }
            if (i.Cs is not null && g.Cs is null)
            {
                throw new AbiException($"{where}: a C# name in a group without a C# type");
            }
            string? text = null;
            long value;
            if (i.Bit is int bit)
            {
                value = 1L << bit;
            }
            else if (i.Value!.StartsWith('"'))
            {
                text = i.Value.Trim('"');
                value = 0;
            }
            else
            {
                value = ParseInteger(i.Value, where);
            }
            string? csType = g.CsKind == "enum" ? null : i.CsType ?? g.CsType;
            if (i.Cs is not null && g.CsKind == "class" && csType is null)
            {
                throw new AbiException($"{where}: no cs_type");
            }
            bool hex = (i.Format ?? g.Format) == "hex";
            constants.Add(new AbiConstant(i.C, csType, i.Cs, i.CsCheck, value, text, hex, i.Bit, i.CSuffix ?? g.CSuffix ?? "",
                g.CNegate, i.Marker, i.Doc));
        }
        if (g.Distinct)
        {
            foreach (var same in constants.Where(c => !c.Marker).GroupBy(c => c.Value).Where(s => s.Count() > 1))
            {
                throw new AbiException($"group {g.Docs}: {string.Join(" and ", same.Select(c => c.CName ?? c.CsName))} share the value {same.Key}");
            }
        }
        return new AbiGroup(g, constants);
    }

    private static AbiStruct ResolveStruct(StructDecl s, Dictionary<string, long> cValues, List<AbiStruct> earlier)
    {
        var fields = new List<AbiField>();
        int end = 0, align = 1;
        foreach (var f in s.Fields)
        {
            string where = $"struct {s.C}, field {f.Name}";
            int elementSize, elementAlign;
            if (f.Type.StartsWith("struct ", StringComparison.Ordinal))
            {
                var inner = earlier.FirstOrDefault(e => "struct " + e.Decl.C == f.Type)
                    ?? throw new AbiException($"{where}: {f.Type} is not declared before it");
                (elementSize, elementAlign) = (inner.Decl.Size, inner.Align);
            }
            else if (Scalars.TryGetValue(f.Type, out var scalar))
            {
                (elementSize, elementAlign) = (scalar.Size, scalar.Size);
            }
            else
            {
                throw new AbiException($"{where}: unknown type '{f.Type}'");
            }
            int count = 1;
            if (f.Count is not null)
            {
                count = char.IsAsciiDigit(f.Count[0]) ? (int)ParseInteger(f.Count, where)
                    : cValues.TryGetValue(f.Count, out long named) ? (int)named
                    : throw new AbiException($"{where}: count {f.Count} is no declared C constant");
            }
            // C lays fields out at natural alignment with no packing: the declared offset must be where it lands.
            int expected = (end + elementAlign - 1) / elementAlign * elementAlign;
            if (f.Offset != expected)
            {
                throw new AbiException($"{where}: declared at offset {f.Offset}, but C puts it at {expected}");
            }
            var field = new AbiField(f, count, f.Count is not null, elementSize, elementAlign);
            fields.Add(field);
            end = f.Offset + field.Size;
            align = Math.Max(align, elementAlign);
        }
        int size = (end + align - 1) / align * align;
        if (size != s.Size)
        {
            throw new AbiException($"struct {s.C}: declared {s.Size} bytes, but its fields make {size}");
        }
        return new AbiStruct(s, fields, align);
    }

    private static void CheckNames(AbiModel model)
    {
        foreach (var type in model.CsConstants.GroupBy(c => c.Type))
        {
            foreach (var twice in type.GroupBy(c => c.Constant.CsName).Where(n => n.Count() > 1))
            {
                throw new AbiException($"{type.Key}.{twice.Key} is declared twice");
            }
        }
        foreach (var id in model.Groups.Select(g => g.Decl.Docs).Concat(model.Structs.Select(s => s.Decl.Docs)).GroupBy(d => d).Where(d => d.Count() > 1))
        {
            throw new AbiException($"the docs table id '{id.Key}' is used twice");
        }
    }

    /// <summary>Decimal or 0x hex, with _ separators, optionally negative.</summary>
    public static long ParseInteger(string text, string where)
    {
        string t = text.Replace("_", "", StringComparison.Ordinal);
        bool negative = t.StartsWith('-');
        if (negative)
        {
            t = t[1..];
        }
        bool ok = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long v)
            : long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        return ok ? (negative ? -v : v) : throw new AbiException($"{where}: '{text}' is not an integer");
    }
}

public sealed class AbiException(string message) : Exception(message);
