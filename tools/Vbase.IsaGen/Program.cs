using System.Globalization;
using System.Text;

namespace Vbase.IsaGen;

/// <summary>
/// Turns the instruction set's one data file (src/Vbase.Isa/Decoding/rv64.opcodes) into the C# the hart is
/// built from: the InstructionId and IsaExtension enums, the decode table with its handler function pointers,
/// and the translator's emitter dispatch. The output depends on the data file alone (no time stamps, no
/// dictionary order, \n line ends), so regenerating an unchanged file changes nothing and CI can check it.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run --project tools/Vbase.IsaGen [-- --check] [--root DIR]</c>. With --check nothing is
/// written; the exit code is 1 if a generated file is missing or differs from what the data file gives.
/// </remarks>
public static class Program
{
    public const string DataFile = "src/Vbase.Isa/Decoding/rv64.opcodes";
    public const string OutputFolder = "src/Vbase.Isa/Decoding/Generated";
    private const string Command = "dotnet run --project tools/Vbase.IsaGen";

    public static int Main(string[] args)
    {
        bool check = false;
        string? root = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--check":
                    check = true;
                    break;
                case "--root" when i + 1 < args.Length:
                    root = args[++i];
                    break;
                default:
                    Console.Error.WriteLine($"usage: {Command} [-- --check] [--root DIR]");
                    return 2;
            }
        }
        root ??= FindRoot(Directory.GetCurrentDirectory()) ?? FindRoot(AppContext.BaseDirectory);
        if (root is null)
        {
            Console.Error.WriteLine("Vbase.IsaGen: no Vbase.sln above the current directory (use --root)");
            return 2;
        }

        List<Row> rows;
        List<CompressedRow> compressed;
        try
        {
            (rows, compressed) = OpcodeFile.Parse(File.ReadAllLines(Path.Combine(root, DataFile)));
            OpcodeFile.Validate(rows);
            OpcodeFile.Validate(compressed, rows);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"{DataFile}: {e.Message}");
            return 1;
        }

        var outputs = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [$"{OutputFolder}/InstructionId.g.cs"] = CSharp.Ids(rows),
            [$"{OutputFolder}/InstructionTable.g.cs"] = CSharp.Table(rows),
            [$"{OutputFolder}/Emitters.g.cs"] = CSharp.Emitters(rows),
            [$"{OutputFolder}/CompressedTable.g.cs"] = CSharp.Compressed(compressed),
        };
        int stale = 0;
        foreach (var (path, text) in outputs)
        {
            string full = Path.Combine(root, path);
            string? old = File.Exists(full) ? File.ReadAllText(full) : null;
            if (old == text)
            {
                continue;
            }
            stale++;
            if (check)
            {
                Console.Error.WriteLine($"{path} is out of date with {DataFile}; regenerate: {Command}");
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                File.WriteAllText(full, text);
                Console.WriteLine($"wrote {path}");
            }
        }
        if (check)
        {
            if (stale == 0)
            {
                Console.WriteLine($"{outputs.Count} generated files are up to date with {DataFile} ({rows.Count} + {compressed.Count} compressed rows)");
            }
            return stale == 0 ? 0 : 1;
        }
        Console.WriteLine($"{rows.Count} + {compressed.Count} compressed rows; {stale} of {outputs.Count} files changed");
        return 0;
    }

    private static string? FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vbase.sln")) && File.Exists(Path.Combine(dir.FullName, DataFile)))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}

/// <summary>One row of the data file.</summary>
public sealed record Row(int Line, string Name, string[] Fields, uint Mask, uint Match, string Extension, string Format,
    string Class, string Handler, string? Emitter)
{
    /// <summary>The enum member: the mnemonic in PascalCase without its dots (lr.w → LrW, fence.i → FenceI).</summary>
    public string Id { get; } = IdOf(Name);

    public static string IdOf(string name) => string.Concat(name.Split('.').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
}

/// <summary>One compressed row: a 16-bit encoding and the 32-bit row it expands to.</summary>
public sealed record CompressedRow(int Line, string Name, ushort Mask, ushort Match, string Extension, string Format, string Expands)
{
    public int Specificity => System.Numerics.BitOperations.PopCount(Mask);
}

public static class OpcodeFile
{
    /// <summary>The compressed forms' fields (riscv-opcodes' names; _n0/_n2: also not x0/x2, which the expander checks).</summary>
    public static readonly Dictionary<string, (int Hi, int Lo)> CompressedFieldBits = new(StringComparer.Ordinal)
    {
        ["rd_p"] = (4, 2),
        ["rs2_p"] = (4, 2),
        ["rs1_p"] = (9, 7),
        ["rd_rs1_p"] = (9, 7),
        ["rd"] = (11, 7),
        ["rd_rs1"] = (11, 7),
        ["rd_n0"] = (11, 7),
        ["rd_n2"] = (11, 7),
        ["rs1_n0"] = (11, 7),
        ["c_rs2"] = (6, 2),
        ["c_rs2_n0"] = (6, 2),
        ["c_nzuimm10"] = (12, 5),
        ["c_uimm7lo"] = (6, 5),
        ["c_uimm7hi"] = (12, 10),
        ["c_uimm8lo"] = (6, 5),
        ["c_uimm8hi"] = (12, 10),
        ["c_nzimm6lo"] = (6, 2),
        ["c_nzimm6hi"] = (12, 12),
        ["c_imm6lo"] = (6, 2),
        ["c_imm6hi"] = (12, 12),
        ["c_nzimm10lo"] = (6, 2),
        ["c_nzimm10hi"] = (12, 12),
        ["c_nzimm18lo"] = (6, 2),
        ["c_nzimm18hi"] = (12, 12),
        ["c_nzuimm6lo"] = (6, 2),
        ["c_nzuimm6hi"] = (12, 12),
        ["c_imm12"] = (12, 2),
        ["c_bimm9lo"] = (6, 2),
        ["c_bimm9hi"] = (12, 10),
        ["c_uimm8splo"] = (6, 2),
        ["c_uimm8sphi"] = (12, 12),
        ["c_uimm9splo"] = (6, 2),
        ["c_uimm9sphi"] = (12, 12),
        ["c_uimm8sp_s"] = (12, 7),
        ["c_uimm9sp_s"] = (12, 7),
    };

    /// <summary>The compressed instruction formats (unprivileged spec, table "Compressed 16-bit RVC instruction formats").</summary>
    private static readonly HashSet<string> CompressedFormats = new(StringComparer.Ordinal) { "CR", "CI", "CSS", "CIW", "CL", "CS", "CA", "CB", "CJ" };

    /// <summary>Operand fields and the bits they occupy (riscv-opcodes' arg_lut).</summary>
    public static readonly Dictionary<string, (int Hi, int Lo)> FieldBits = new(StringComparer.Ordinal)
    {
        ["rd"] = (11, 7),
        ["rs1"] = (19, 15),
        ["rs2"] = (24, 20),
        ["imm12"] = (31, 20),
        ["imm20"] = (31, 12),
        ["jimm20"] = (31, 12),
        ["bimm12hi"] = (31, 25),
        ["bimm12lo"] = (11, 7),
        ["imm12hi"] = (31, 25),
        ["imm12lo"] = (11, 7),
        ["shamtd"] = (25, 20),
        ["shamtw"] = (24, 20),
        ["csr"] = (31, 20),
        ["zimm"] = (19, 15),
        ["fm"] = (31, 28),
        ["pred"] = (27, 24),
        ["succ"] = (23, 20),
        ["aq"] = (26, 26),
        ["rl"] = (25, 25),
        ["rs3"] = (31, 27),
        ["rm"] = (14, 12),
    };

    /// <summary>The fields each operand format extracts; a row's fields must be exactly these (None: any).</summary>
    private static readonly Dictionary<string, string[]?> FormatFields = new(StringComparer.Ordinal)
    {
        ["R"] = ["rd", "rs1", "rs2"],
        ["I"] = ["rd", "rs1", "imm12"],
        ["Load"] = ["rd", "rs1", "imm12"],
        ["Shift64"] = ["rd", "rs1", "shamtd"],
        ["Shift32"] = ["rd", "rs1", "shamtw"],
        ["S"] = ["imm12hi", "rs1", "rs2", "imm12lo"],
        ["B"] = ["bimm12hi", "rs1", "rs2", "bimm12lo"],
        ["U"] = ["rd", "imm20"],
        ["J"] = ["rd", "jimm20"],
        ["Csr"] = ["rd", "rs1", "csr"],
        ["CsrImm"] = ["rd", "zimm", "csr"],
        ["Amo"] = ["rd", "rs1", "rs2", "aq", "rl"],
        ["Lr"] = ["rd", "rs1", "aq", "rl"],
        ["Rs1Rs2"] = ["rs1", "rs2"],
        ["FLoad"] = ["rd", "rs1", "imm12"],
        ["FStore"] = ["imm12hi", "rs1", "rs2", "imm12lo"],
        ["FR4"] = ["rd", "rs1", "rs2", "rs3", "rm"],
        ["FRm"] = ["rd", "rs1", "rs2", "rm"],
        ["FR"] = ["rd", "rs1", "rs2"],
        ["F1Rm"] = ["rd", "rs1", "rm"],
        ["FCmp"] = ["rd", "rs1", "rs2"],
        ["FToX"] = ["rd", "rs1", "rm"],
        ["FMvToX"] = ["rd", "rs1"],
        ["XToF"] = ["rd", "rs1", "rm"],
        ["FMvFromX"] = ["rd", "rs1"],
        ["None"] = null,
    };

    /// <summary>The data file's translation classes and the TranslationClass members they stand for.</summary>
    public static readonly Dictionary<string, string> Classes = new(StringComparer.Ordinal)
    {
        ["none"] = "NotTranslated",
        ["nop"] = "Nop",
        ["value"] = "Value",
        ["load"] = "Load",
        ["store"] = "Store",
        ["branch"] = "Branch",
        ["jal"] = "Jal",
        ["jalr"] = "Jalr",
        ["call"] = "Call",
    };

    public static (List<Row> Rows, List<CompressedRow> Compressed) Parse(string[] lines)
    {
        var rows = new List<Row>();
        var compressed = new List<CompressedRow>();
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0)
            {
                line = line[..hash];
            }
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            if (line.TrimStart().StartsWith("c.", StringComparison.Ordinal))
            {
                compressed.Add(ParseCompressedRow(n + 1, line));
            }
            else
            {
                rows.Add(ParseRow(n + 1, line));
            }
        }
        return (rows, compressed);
    }

    private static CompressedRow ParseCompressedRow(int number, string line)
    {
        string[] halves = line.Split('|');
        string[] right = halves.Length == 2 ? halves[1].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        if (right.Length != 3)
        {
            throw new FormatException($"line {number}: expected 'encoding | C format expands-to' for a compressed row");
        }
        var (name, _, mask, match) = ParseEncoding(number, halves[0], 16, CompressedFieldBits);
        return new CompressedRow(number, name, (ushort)mask, (ushort)match, right[0], right[1], right[2]);
    }

    private static Row ParseRow(int number, string line)
    {
        string[] halves = line.Split('|');
        string[] right = halves.Length == 2 ? halves[1].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        if (right.Length != 5)
        {
            throw new FormatException($"line {number}: expected 'encoding | ext format class handler emitter'");
        }
        var (name, fields, mask, match) = ParseEncoding(number, halves[0], 32, FieldBits);
        string emitter = right[4];
        return new Row(number, name, fields, mask, match, right[0], right[1], right[2], right[3], emitter == "-" ? null : emitter);
    }

    /// <summary>The name, fields, mask and match of an encoding whose fields and constraints cover bits width-1..0 exactly once.</summary>
    private static (string Name, string[] Fields, uint Mask, uint Match) ParseEncoding(int number, string text, int width,
        Dictionary<string, (int Hi, int Lo)> fieldBits)
    {
        string[] left = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (left.Length < 2)
        {
            throw new FormatException($"line {number}: expected a name, then its fields and constraints");
        }
        string name = left[0];
        uint owned = 0, mask = 0, match = 0;
        var fields = new List<string>();
        uint Claim(int hi, int lo, string what)
        {
            uint bits = (uint)(((1UL << (hi + 1)) - 1) & ~((1UL << lo) - 1));
            if ((owned & bits) != 0)
            {
                throw new FormatException($"line {number}: {name}: {what} overlaps bits already given");
            }
            owned |= bits;
            return bits;
        }
        foreach (string token in left.Skip(1))
        {
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                if (!fieldBits.TryGetValue(token, out var field))
                {
                    throw new FormatException($"line {number}: {name}: unknown field '{token}'");
                }
                Claim(field.Hi, field.Lo, token);
                fields.Add(token);
                continue;
            }
            string range = token[..eq], value = token[(eq + 1)..];
            string[] ends = range.Split("..");
            int hi = int.Parse(ends[0], CultureInfo.InvariantCulture);
            int lo = ends.Length == 2 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : hi;
            if (ends.Length > 2 || hi >= width || lo < 0 || lo > hi)
            {
                throw new FormatException($"line {number}: {name}: bad bit range '{range}'");
            }
            ulong v = value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.Parse(value[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : ulong.Parse(value, CultureInfo.InvariantCulture);
            if (v >> (hi - lo + 1) != 0)
            {
                throw new FormatException($"line {number}: {name}: {value} does not fit bits {range}");
            }
            mask |= Claim(hi, lo, range);
            match |= (uint)(v << lo);
        }
        uint all = (uint)((1UL << width) - 1);
        if (owned != all)
        {
            throw new FormatException($"line {number}: {name}: bits 0x{all & ~owned:x} are neither a field nor constrained");
        }
        return (name, [.. fields], mask, match);
    }

    public static void Validate(List<Row> rows)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (Row r in rows)
        {
            string where = $"line {r.Line}: {r.Name}";
            if (!names.Add(r.Name) || !ids.Add(r.Id))
            {
                throw new FormatException($"{where}: a second row of this name");
            }
            if ((r.Match & 3) != 3)
            {
                throw new FormatException($"{where}: a 32-bit encoding must have bits 1..0 = 3");
            }
            if (!FormatFields.TryGetValue(r.Format, out string[]? expected))
            {
                throw new FormatException($"{where}: unknown operand format '{r.Format}'");
            }
            if (expected is not null && !expected.Order(StringComparer.Ordinal).SequenceEqual(r.Fields.Order(StringComparer.Ordinal)))
            {
                throw new FormatException($"{where}: format {r.Format} takes fields {string.Join(' ', expected)}, the row has {string.Join(' ', r.Fields)}");
            }
            if (!Classes.ContainsKey(r.Class))
            {
                throw new FormatException($"{where}: unknown translation class '{r.Class}'");
            }
            if ((r.Class == "none") != (r.Emitter is null))
            {
                throw new FormatException($"{where}: class none has no emitter (-), every other class has one");
            }
            if (!IsIdentifier(r.Handler) || (r.Emitter is not null && !IsIdentifier(r.Emitter)) || !IsIdentifier(r.Extension))
            {
                throw new FormatException($"{where}: extension, handler and emitter must be C# identifiers");
            }
        }
        // The decoder takes the first match, so two rows that some word matches both would depend on order.
        for (int a = 0; a < rows.Count; a++)
        {
            for (int b = a + 1; b < rows.Count; b++)
            {
                if (((rows[a].Match ^ rows[b].Match) & rows[a].Mask & rows[b].Mask) == 0)
                {
                    throw new FormatException($"line {rows[b].Line}: {rows[b].Name} overlaps {rows[a].Name} (line {rows[a].Line})");
                }
            }
        }
    }

    public static void Validate(List<CompressedRow> compressed, List<Row> rows)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (CompressedRow c in compressed)
        {
            string where = $"line {c.Line}: {c.Name}";
            if (!names.Add(c.Name))
            {
                throw new FormatException($"{where}: a second row of this name");
            }
            if ((c.Match & 3) == 3)
            {
                throw new FormatException($"{where}: a compressed encoding must not have bits 1..0 = 3");
            }
            if (!CompressedFormats.Contains(c.Format))
            {
                throw new FormatException($"{where}: unknown compressed format '{c.Format}'");
            }
            if (!rows.Exists(r => r.Name == c.Expands))
            {
                throw new FormatException($"{where}: expands to '{c.Expands}', which no 32-bit row defines");
            }
        }
        // A compressed row may refine another (c.nop within c.addi, c.jr within c.mv): the decoder takes the
        // most specific. Two rows that overlap without one containing the other would be ambiguous.
        for (int a = 0; a < compressed.Count; a++)
        {
            for (int b = a + 1; b < compressed.Count; b++)
            {
                CompressedRow x = compressed[a], y = compressed[b];
                if (((x.Match ^ y.Match) & x.Mask & y.Mask) != 0)
                {
                    continue;
                }
                bool xInY = (x.Mask & y.Mask) == y.Mask && x.Mask != y.Mask, yInX = (x.Mask & y.Mask) == x.Mask && x.Mask != y.Mask;
                if (!xInY && !yInX)
                {
                    throw new FormatException($"line {y.Line}: {y.Name} overlaps {x.Name} (line {x.Line}) without refining it");
                }
            }
        }
    }

    private static bool IsIdentifier(string s) =>
        s.Length > 0 && char.IsLetter(s[0]) && s.All(c => char.IsLetterOrDigit(c) || c == '_');
}

public static class CSharp
{
    private static StringBuilder Header(string summary)
    {
        var sb = new StringBuilder();
        sb.Append("// <auto-generated>\n");
        sb.Append($"// Generated by tools/Vbase.IsaGen from {Program.DataFile}: {summary}\n");
        sb.Append("// Do not edit; change the data file and regenerate with: dotnet run --project tools/Vbase.IsaGen\n");
        sb.Append("// </auto-generated>\n");
        sb.Append("#nullable enable\n\n");
        return sb;
    }

    private static List<string> Extensions(List<Row> rows)
    {
        var list = new List<string>();
        foreach (Row r in rows)
        {
            if (!list.Contains(r.Extension))
            {
                list.Add(r.Extension);
            }
        }
        return list;
    }

    public static string Ids(List<Row> rows)
    {
        StringBuilder sb = Header("the instruction and extension enums.");
        sb.Append("namespace Vbase.Isa.Decoding;\n\n");
        sb.Append("/// <summary>One member per row of the data file, in its order: the index of the row in <see cref=\"InstructionTable.Rows\"/>.</summary>\n");
        sb.Append("public enum InstructionId : ushort\n{\n");
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append($"    /// <summary><c>{rows[i].Name}</c> ({rows[i].Extension}).</summary>\n");
            sb.Append($"    {rows[i].Id} = {i},\n");
        }
        sb.Append("    /// <summary>No row matches: the word is illegal.</summary>\n");
        sb.Append("    Illegal = ushort.MaxValue,\n}\n\n");
        sb.Append("/// <summary>The extensions the data file's rows belong to.</summary>\n");
        sb.Append("public enum IsaExtension : byte\n{\n");
        foreach (string e in Extensions(rows))
        {
            sb.Append($"    {e},\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    public static string Table(List<Row> rows) => RowArray("the decode table and the interpreter's handlers.",
        "using Vbase.Isa.Execution;\n\n", "public static unsafe partial class InstructionTable",
        "Every encoding, indexed by <see cref=\"InstructionId\"/>.", "InstructionSpec",
        rows.Select(r => $"new(InstructionId.{r.Id}, \"{r.Name}\", 0x{r.Mask:x8}, 0x{r.Match:x8}, OperandFormat.{r.Format}, "
            + $"IsaExtension.{r.Extension}, TranslationClass.{OpcodeFile.Classes[r.Class]}, &Executors.{r.Handler})"));

    // Stable: rows of equal specificity keep the data file's order.
    public static string Compressed(List<CompressedRow> compressed) => RowArray("the compressed encodings.", "",
        "public static partial class CompressedTable",
        "Every compressed encoding, most specific first (so the first match is the one meant).", "CompressedSpec",
        compressed.OrderByDescending(c => c.Specificity).ThenBy(c => c.Line)
            .Select(c => $"new(\"{c.Name}\", 0x{c.Mask:x4}, 0x{c.Match:x4}, CompressedFormat.{c.Format}, InstructionId.{Row.IdOf(c.Expands)})"));

    /// <summary>A file of namespace Vbase.Isa.Decoding holding one partial class with one array <c>Rows</c>.</summary>
    private static string RowArray(string summary, string usings, string declaration, string doc, string element, IEnumerable<string> items)
    {
        StringBuilder sb = Header(summary);
        sb.Append(usings);
        sb.Append("namespace Vbase.Isa.Decoding;\n\n");
        sb.Append($"{declaration}\n{{\n");
        sb.Append($"    /// <summary>{doc}</summary>\n");
        sb.Append($"    public static readonly {element}[] Rows =\n    [\n");
        foreach (string item in items)
        {
            sb.Append($"        {item},\n");
        }
        sb.Append("    ];\n}\n");
        return sb.ToString();
    }

    public static string Emitters(List<Row> rows)
    {
        StringBuilder sb = Header("the translator's dispatch from instruction to IL emitter.");
        sb.Append("using Vbase.Isa.Decoding;\n\n");
        sb.Append("namespace Vbase.Isa.Translation;\n\n");
        sb.Append("internal static partial class Emitters\n{\n");
        sb.Append("    /// <summary>Emits <paramref name=\"d\"/> with its row's emitter; false for rows the translator leaves to the interpreter.</summary>\n");
        sb.Append("    public static bool Emit(RegionEmitter e, in DecodedInstruction d)\n    {\n");
        sb.Append("        switch (d.Id)\n        {\n");
        foreach (Row r in rows)
        {
            if (r.Emitter is not null)
            {
                sb.Append($"            case InstructionId.{r.Id}:\n");
                sb.Append($"                {r.Emitter}(e, in d);\n");
                sb.Append("                return true;\n");
            }
        }
        sb.Append("            default:\n                return false;\n");
        sb.Append("        }\n    }\n}\n");
        return sb.ToString();
    }
}
