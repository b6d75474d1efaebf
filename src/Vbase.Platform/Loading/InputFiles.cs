using System.Runtime.InteropServices;

namespace Vbase.Platform.Loading;

/// <summary>What a path names, as stat(2) sees it (symbolic links followed).</summary>
public enum InputFileKind
{
    Missing,
    Regular,
    Directory,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    Other,
}

/// <summary>An input file that cannot be used; the message says why, without the path (callers put it first).</summary>
public sealed class InputFileException(InputFileKind kind, string problem) : Exception(problem)
{
    public InputFileKind Kind { get; } = kind;
}

/// <summary>
/// Reading the files vbase is given (scenarios, monitoring scripts, command files, ELF images) safely: only regular
/// files, and never more than a documented number of bytes (docs/cli.md, "Bad input"). A FIFO or a device is refused
/// before it is opened, so that it can neither block vbase nor feed it without end.
/// </summary>
public static class InputFiles
{
    /// <summary>Scenario files, monitoring scripts and Monitor command files: 1 MiB.</summary>
    public const long MaxTextBytes = 1L << 20;
    /// <summary>An ELF image (<c>vbase exec</c>'s program, a domain's kernel): 256 MiB.</summary>
    public const long MaxElfBytes = 256L << 20;

    /// <summary>What <paramref name="path"/> is; <see cref="InputFileKind.Missing"/> when it does not exist or cannot be looked at.</summary>
    public static InputFileKind KindOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            return InputFileKind.Missing;
        }
        if (!OperatingSystem.IsWindows())
        {
            try
            {
                if (Native.Stat(path, out Native.FileStatus status) != 0)
                {
                    return InputFileKind.Missing;
                }
                return (status.Mode & 0xF000) switch
                {
                    0x8000 => InputFileKind.Regular,
                    0x4000 => InputFileKind.Directory,
                    0x1000 => InputFileKind.Fifo,
                    0x2000 => InputFileKind.CharacterDevice,
                    0x6000 => InputFileKind.BlockDevice,
                    0xC000 => InputFileKind.Socket,
                    _ => InputFileKind.Other,
                };
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Fall through to what .NET itself can tell.
            }
        }
        return Directory.Exists(path) ? InputFileKind.Directory : File.Exists(path) ? InputFileKind.Regular : InputFileKind.Missing;
    }

    /// <summary>Why <paramref name="kind"/> cannot be read as a file; null for a regular file.</summary>
    public static string? Refusal(InputFileKind kind) => kind switch
    {
        InputFileKind.Regular => null,
        InputFileKind.Missing => "no such file",
        InputFileKind.Directory => "is a directory, not a file",
        InputFileKind.Fifo => "is a FIFO (named pipe), not a regular file",
        InputFileKind.CharacterDevice => "is a character device, not a regular file",
        InputFileKind.BlockDevice => "is a block device, not a regular file",
        InputFileKind.Socket => "is a socket, not a regular file",
        _ => "is not a regular file",
    };

    /// <summary>Throws unless <paramref name="path"/> is a regular file of at most <paramref name="maxBytes"/> bytes; returns its length.</summary>
    /// <exception cref="InputFileException">Missing, not a regular file, or too large.</exception>
    public static long Check(string path, long maxBytes)
    {
        InputFileKind kind = KindOf(path);
        if (Refusal(kind) is string refusal)
        {
            throw new InputFileException(kind, refusal);
        }
        long length;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InputFileException(InputFileKind.Regular, $"cannot read: {OneLine(e.Message)}");
        }
        return length > maxBytes ? throw TooLarge(length, maxBytes) : length;
    }

    /// <summary>The whole of a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    /// <exception cref="InputFileException">Missing, not a regular file, too large, or unreadable.</exception>
    public static byte[] Read(string path, long maxBytes)
    {
        long length = Check(path, maxBytes);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            // Read at most one byte more than allowed, so a file that grew since it was checked is still refused.
            var buffer = new MemoryStream((int)Math.Min(length + 1, maxBytes + 1));
            byte[] chunk = new byte[1 << 16];
            int n;
            while ((n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length))) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > maxBytes)
                {
                    throw TooLarge(null, maxBytes);
                }
            }
            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InputFileException(InputFileKind.Regular, $"cannot read: {OneLine(e.Message)}");
        }
    }

    /// <summary>
    /// A text file (UTF-8, at most <paramref name="maxBytes"/> bytes): bytes that are not UTF-8, and NUL bytes, are
    /// refused rather than replaced.
    /// </summary>
    /// <exception cref="InputFileException">As <see cref="Read"/>, or the file is not UTF-8 text.</exception>
    public static string ReadText(string path, long maxBytes)
    {
        byte[] bytes = Read(path, maxBytes);
        return Text(bytes);
    }

    /// <summary>Bytes as UTF-8 text (a byte-order mark is dropped); not UTF-8, or holding a NUL byte, is an error.</summary>
    /// <exception cref="InputFileException">The bytes are not text.</exception>
    public static string Text(ReadOnlySpan<byte> bytes)
    {
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
        {
            throw new InputFileException(InputFileKind.Regular, $"not a text file (a NUL byte at offset {nul})");
        }
        if (bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }
        try
        {
            return Strict.GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new InputFileException(InputFileKind.Regular, $"not UTF-8 text (a bad byte at offset {Math.Max(e.Index, 0)})");
        }
    }

    /// <summary>A message stays one printable line whatever the input held: control characters are escaped (\0, \t, \x1b).</summary>
    public static string Printable(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }
        var s = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            s.Append(c switch
            {
                '\0' => "\\0",
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        return s.ToString();
    }

    private static readonly System.Text.UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static InputFileException TooLarge(long? length, long maxBytes) =>
        new(InputFileKind.Regular, length is long n
            ? $"too large: {n} bytes, more than the {Size(maxBytes)} this kind of file may have"
            : $"too large: more than the {Size(maxBytes)} this kind of file may have");

    private static string Size(long bytes) => bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} bytes";

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    /// <summary>The .NET runtime's own stat(2) shim (libSystem.Native), which reports the file type in portable bits.</summary>
    private static class Native
    {
        /// <summary>Only <c>Mode</c> (after a 4-byte flags field) is read; the rest of the runtime's FileStatus fits the padding.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        public struct FileStatus
        {
            [FieldOffset(4)]
            public int Mode;
        }

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, out FileStatus status);
    }
}
