using System.Text;

namespace Vbase.Cli;

/// <summary>
/// A write-only stream that decodes UTF-8 bytes onto a <see cref="TextWriter"/>: the guest console writes
/// bytes, in-process callers hand us text writers. Bytes are buffered and decoded on flush; a multi-byte
/// character split across flushes is kept whole by the decoder.
/// </summary>
internal sealed class TextWriterStream(TextWriter writer) : Stream
{
    private readonly Decoder decoder = new UTF8Encoding(false).GetDecoder();
    private readonly byte[] bytes = new byte[8192];
    private readonly char[] chars = new char[8192 + 1];
    private int count;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void WriteByte(byte value)
    {
        if (count == bytes.Length)
        {
            Decode();
        }
        bytes[count++] = value;
    }

    public override void Write(byte[] buffer, int offset, int length) => Write(buffer.AsSpan(offset, length));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        foreach (byte b in buffer)
        {
            WriteByte(b);
        }
    }

    public override void Flush()
    {
        Decode();
        writer.Flush();
    }

    private void Decode()
    {
        if (count == 0)
        {
            return;
        }
        int n = decoder.GetChars(bytes, 0, count, chars, 0, flush: false);
        writer.Write(chars, 0, n);
        count = 0;
    }

    public override int Read(byte[] buffer, int offset, int length) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
