using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Vbase.Isa.Csrs;
using Vbase.Isa.Debugging;
using Vbase.Isa.Harts;

namespace Vbase.Testbed.Debugging;

/// <summary>Counts of what a debugger connection sent, for tests and the fuzz report.</summary>
public sealed class GdbStubCounters
{
    public int Packets, BadChecksums, TooLong, Errors, Interrupts;
}

/// <summary>
/// A GDB remote stub (the remote serial protocol, docs/debugging.md) over one <see cref="IDebugTarget"/>: a thread per
/// hart, all-stop. It attaches a <see cref="HartDebugger"/> to every hart; when one stops, it is called on the run's
/// thread and serves the debugger there until it resumes the target, so nothing runs while the debugger looks and
/// a stop takes no virtual time. The first stop (before the first instruction) waits for the connection.
/// Anything the connection sends, however broken, gets an error reply at worst; a closed connection detaches the
/// debugger and the run goes on to its end.
/// </summary>
public sealed class GdbStub : IDisposable
{
    private const int MaxMemoryBytes = (RspPacketParser.DefaultMaxPayload / 2) - 32;
    /// <summary>Packets read ahead while the target runs (gdb sends only Ctrl-C then; a flood waits, bounded).</summary>
    private const int InboxCapacity = 256;

    private readonly IDebugTarget target;
    private readonly Func<Stream> accept;
    private readonly Action<string> log;
    private readonly HartDebugger[] debuggers;
    private readonly BlockingCollection<RspItem?> inbox = new(InboxCapacity);
    private readonly object sendLock = new();
    private readonly TcpListener? listener;
    private Stream? stream;
    private Thread? reader;
    private volatile bool running;
    private bool attached, detached, killed, ended;
    private int selected;
    private string lastStopReply = "S05";
    private byte[]? lastSent;
    private readonly HashSet<string> notesShown = [];

    /// <summary>A stub that gets its connection from <paramref name="accept"/> (called once, at the first stop).</summary>
    public GdbStub(IDebugTarget target, Func<Stream> accept, Action<string> log)
    {
        this.target = target;
        this.accept = accept;
        this.log = log;
        debuggers = [.. target.Threads.Select((_, i) => new HartDebugger())];
        for (int i = 0; i < debuggers.Length; i++)
        {
            int thread = i;
            debuggers[i].Stopped = (hart, stop) => OnStopped(thread, stop);
        }
    }

    private GdbStub(IDebugTarget target, TcpListener listener, Action<string> log)
        : this(target, () => AcceptOne(listener), log)
    {
        this.listener = listener;
    }

    /// <summary>Listens on localhost:<paramref name="port"/> (0: any free port, see <see cref="Port"/>).</summary>
    /// <exception cref="SocketException">The port cannot be listened on.</exception>
    public static GdbStub Listen(IDebugTarget target, int port, Action<string> log)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start(1);
        return new GdbStub(target, listener, log);
    }

    private static Stream AcceptOne(TcpListener listener)
    {
        TcpClient client = listener.AcceptTcpClient();
        listener.Stop(); // one debugger per run
        client.NoDelay = true;
        return client.GetStream();
    }

    /// <summary>The port listened on (when listening).</summary>
    public int Port => listener is null ? 0 : ((IPEndPoint)listener.LocalEndpoint).Port;

    public GdbStubCounters Counters { get; } = new();

    /// <summary>Whether the debugger killed the program (gdb's <c>k</c>).</summary>
    public bool Killed => killed;

    /// <summary>Attaches to every hart; the first thread stops before its next instruction and waits for the debugger.</summary>
    public void Attach()
    {
        for (int i = 0; i < debuggers.Length; i++)
        {
            target.Threads[i].Debugger = debuggers[i];
        }
        debuggers[0].StopPending = true;
        attached = true;
    }

    /// <summary>
    /// The run ended (every domain shut down, a limit…): tells a debugger still attached (<c>W</c> with the exit code,
    /// or <c>X</c> with SIGKILL when there is none) and closes the connection.
    /// </summary>
    public void Finish(long? exitCode)
    {
        if (ended)
        {
            return;
        }
        ended = true;
        if (stream is not null && !detached)
        {
            Send(exitCode is long code ? "W" + ((byte)code).ToString("x2", CultureInfo.InvariantCulture) : "X09");
            // Let the debugger read it and hang up (gdb closes after an exit), within a second.
            for (int i = 0; i < 10 && inbox.TryTake(out RspItem? item, 100); i++)
            {
                if (item is null)
                {
                    break;
                }
            }
        }
        Close();
    }

    private DebugResume OnStopped(int thread, DebugStop stop)
    {
        if (detached || ended)
        {
            return DebugResume.Continue;
        }
        running = false;
        selected = thread;
        notesShown.Clear();
        string reply = StopReply(thread, stop);
        lastStopReply = reply;
        if (stream is null)
        {
            if (!Connect())
            {
                return DebugResume.Continue;
            }
        }
        else
        {
            Send(reply);
        }
        return Serve(thread);
    }

    private bool Connect()
    {
        try
        {
            stream = accept();
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            log($"vbase: gdb: no connection ({e.Message}); the run goes on without a debugger");
            Detach();
            return false;
        }
        log($"vbase: gdb: connected, debugging {target.Name}");
        Stream s = stream;
        reader = new Thread(() => ReadLoop(s)) { IsBackground = true, Name = "gdb reader" };
        reader.Start();
        return true;
    }

    private void ReadLoop(Stream s)
    {
        var parser = new RspPacketParser();
        var buffer = new byte[4096];
        var items = new List<RspItem>();
        try
        {
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                items.Clear();
                parser.Feed(buffer.AsSpan(0, n), items);
                foreach (RspItem item in items)
                {
                    if (item.Kind == RspItemKind.Interrupt)
                    {
                        Interlocked.Increment(ref Counters.Interrupts);
                        if (running)
                        {
                            foreach (HartDebugger d in debuggers)
                            {
                                d.Interrupt();
                            }
                        }
                        continue;
                    }
                    inbox.Add(item);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // The connection broke: the same as a close.
        }
        try
        {
            inbox.Add(null);
        }
        catch (InvalidOperationException)
        {
            // Already closed.
        }
    }

    /// <summary>Answers packets until one resumes the target; a closed connection detaches.</summary>
    private DebugResume Serve(int thread)
    {
        while (true)
        {
            RspItem? next;
            try
            {
                next = inbox.Take();
            }
            catch (InvalidOperationException)
            {
                next = null;
            }
            if (next is not RspItem item)
            {
                log("vbase: gdb: connection closed; the run goes on to its end without the debugger");
                Detach();
                return DebugResume.Continue;
            }
            switch (item.Kind)
            {
                case RspItemKind.Nack when lastSent is not null:
                    Write(lastSent);
                    continue;
                case RspItemKind.BadChecksum:
                    Counters.BadChecksums++;
                    Write("-"u8.ToArray());
                    continue;
                case RspItemKind.TooLong:
                    Counters.TooLong++;
                    Write("+"u8.ToArray());
                    Send("E16");
                    continue;
                case RspItemKind.Packet:
                    break;
                default:
                    continue;
            }
            Counters.Packets++;
            Write("+"u8.ToArray());
            string? reply;
            DebugResume? resume;
            try
            {
                (reply, resume) = Handle(item.Payload, thread);
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
            {
                (reply, resume) = ("E01", null);
            }
            if (reply is not null)
            {
                if (reply.Length > 0 && reply[0] == 'E' && reply.Length == 3)
                {
                    Counters.Errors++;
                }
                Send(reply);
            }
            if (resume is DebugResume r)
            {
                if (r == DebugResume.Kill)
                {
                    Close();
                }
                else if (!detached)
                {
                    running = true;
                }
                return r;
            }
            if (detached)
            {
                return DebugResume.Continue;
            }
        }
    }

    /// <summary>One packet: its reply (null: none) and whether and how the target resumes.</summary>
    internal (string? Reply, DebugResume? Resume) Handle(string packet, int thread)
    {
        if (packet.Length == 0)
        {
            return ("", null);
        }
        char c = packet[0];
        string rest = packet[1..];
        switch (c)
        {
            case '?':
                return (lastStopReply, null);
            case 'g':
                return (ReadAllRegisters(Hart(selected)), null);
            case 'G':
                return (WriteAllRegisters(Hart(selected), rest), null);
            case 'p':
                return (ReadRegister(Hart(selected), ParseHex(rest)), null);
            case 'P':
                {
                    int eq = rest.IndexOf('=');
                    return (eq < 0 ? "E01" : WriteRegister(Hart(selected), ParseHex(rest[..eq]), rest[(eq + 1)..]), null);
                }
            case 'm':
                return (ReadMemory(rest), null);
            case 'M':
                return (WriteMemory(rest), null);
            case 'X':
                return ("", null); // binary writes: gdb falls back to M
            case 'Z' or 'z':
                return (SetPoint(c == 'Z', rest), null);
            case 'c':
                return (null, DebugResume.Continue);
            case 's':
                return (null, DebugResume.Step);
            case 'v':
                return VPacket(packet, thread);
            case 'H':
                return (SelectThread(rest), null);
            case 'T':
                return (ParseThread(rest) is int t && t >= 0 && t < debuggers.Length ? "OK" : "E01", null);
            case 'D':
                Send("OK");
                Detach();
                log("vbase: gdb: detached; the run goes on to its end");
                return (null, DebugResume.Continue);
            case 'k':
                killed = true;
                log("vbase: gdb: killed the program");
                target.Kill();
                return (null, DebugResume.Kill);
            case 'q':
                return (Query(packet), null);
            case 'Q':
                return ("", null);
            default:
                return ("", null);
        }
    }

    private (string? Reply, DebugResume? Resume) VPacket(string packet, int thread)
    {
        if (packet == "vCont?")
        {
            return ("vCont;c;C;s;S", null);
        }
        if (!packet.StartsWith("vCont;", StringComparison.Ordinal))
        {
            return ("", null); // vMustReplyEmpty, vFile, vRun…: not supported
        }
        // Actions in order, the first that applies to a thread wins: "s:2" steps thread 2, "c" continues the rest.
        foreach (string action in packet[6..].Split(';'))
        {
            if (action.Length == 0)
            {
                continue;
            }
            bool step = action[0] is 's' or 'S';
            if (!step && action[0] is not ('c' or 'C'))
            {
                return ("E01", null);
            }
            int colon = action.IndexOf(':');
            int? who = colon < 0 ? null : ParseThread(action[(colon + 1)..]);
            if (!step)
            {
                continue;
            }
            int stepped = who is int w && w >= 0 && w < debuggers.Length ? w : thread;
            if (stepped == thread)
            {
                return (null, DebugResume.Step);
            }
            debuggers[stepped].RequestStep();
            return (null, DebugResume.Continue);
        }
        return (null, DebugResume.Continue);
    }

    private string Query(string packet)
    {
        if (packet.StartsWith("qSupported", StringComparison.Ordinal))
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"PacketSize={RspPacketParser.DefaultMaxPayload:x};qXfer:features:read+;swbreak+;hwbreak+;vContSupported+");
        }
        if (packet.StartsWith("qXfer:features:read:", StringComparison.Ordinal))
        {
            string[] parts = packet["qXfer:features:read:".Length..].Split(':');
            if (parts.Length != 2 || parts[0] != "target.xml")
            {
                return "E00";
            }
            string[] range = parts[1].Split(',');
            if (range.Length != 2)
            {
                return "E01";
            }
            ulong offset = ParseHex64(range[0]), length = Math.Min(ParseHex64(range[1]), (ulong)RspPacketParser.DefaultMaxPayload - 8);
            string xml = GdbTargetDescription.Xml;
            if (offset >= (ulong)xml.Length)
            {
                return "l";
            }
            int n = (int)Math.Min(length, (ulong)xml.Length - offset);
            return ((int)offset + n >= xml.Length ? "l" : "m") + xml.Substring((int)offset, n);
        }
        switch (packet)
        {
            case "qAttached":
                return "1";
            case "qC":
                return "QC" + ThreadId(selected);
            case "qfThreadInfo":
                return "m" + string.Join(',', Enumerable.Range(0, debuggers.Length).Select(ThreadId));
            case "qsThreadInfo":
                return "l";
            case "qSymbol::":
                return "OK";
        }
        if (packet.StartsWith("qThreadExtraInfo,", StringComparison.Ordinal))
        {
            int t = ParseThread(packet["qThreadExtraInfo,".Length..]) ?? -1;
            if (t < 0 || t >= debuggers.Length)
            {
                return "E01";
            }
            Hart h = Hart(t);
            return ToHex(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"vcpu {t} {h.Privilege}-mode")));
        }
        if (packet.StartsWith("qRcmd,", StringComparison.Ordinal))
        {
            string command = Encoding.Latin1.GetString(FromHex(packet["qRcmd,".Length..]) ?? []).Trim();
            string text = command switch
            {
                "" or "help" => "vbase stub: commands: help, threads (the threads and what they run), "
                    + "view ADDR [LEN] (LEN bytes at virtual ADDR as the selected thread sees them, and which protected pages they are in)\n",
                _ when command.StartsWith("view ", StringComparison.Ordinal) => View(command[5..]),
                "threads" => string.Concat(Enumerable.Range(0, debuggers.Length).Select(i =>
                    string.Create(CultureInfo.InvariantCulture, $"thread {i + 1}: vcpu {i}, pc 0x{Hart(i).Pc:x}, {Hart(i).Privilege}-mode, satp 0x{Hart(i).Satp:x}\n"))),
                _ => $"vbase stub: unknown command '{command}' (try: monitor help)\n",
            };
            Send("O" + ToHex(Encoding.UTF8.GetBytes(text)));
            return "OK";
        }
        return "";
    }

    /// <summary><c>monitor view ADDR [LEN]</c>: the bytes (at most 256) and what the architecture shows of their pages.</summary>
    private string View(string arguments)
    {
        string[] words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is < 1 or > 2 || !TryParseNumber(words[0], out ulong address) || (words.Length == 2 && !TryParseNumber(words[1], out _)))
        {
            return "vbase stub: usage: monitor view ADDR [LEN] (numbers in decimal or 0x hex)\n";
        }
        ulong length = 16;
        if (words.Length == 2)
        {
            TryParseNumber(words[1], out length);
        }
        var data = new byte[Math.Clamp(length, 1, 256)];
        var notes = new List<string>();
        int n = target.Read(selected, address, data, notes);
        var text = new StringBuilder();
        foreach (string note in notes.Distinct())
        {
            text.Append(note).Append('\n');
        }
        if (notes.Count == 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"vbase: 0x{address:x}: not in a protected region\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"vbase: 0x{address:x}: {(n == 0 ? "unreadable" : Convert.ToHexStringLower(data.AsSpan(0, n)))}\n");
        return text.ToString();
    }

    private static bool TryParseNumber(string s, out ulong value) =>
        s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private string SelectThread(string rest)
    {
        if (rest.Length < 1)
        {
            return "E01";
        }
        string id = rest[1..];
        if (id is "-1" or "0")
        {
            return "OK";
        }
        if (ParseThread(id) is not int t || t < 0 || t >= debuggers.Length)
        {
            return "E01";
        }
        if (rest[0] == 'g')
        {
            selected = t;
        }
        return "OK";
    }

    private string SetPoint(bool insert, string rest)
    {
        string[] parts = rest.Split(',');
        if (parts.Length < 3)
        {
            return "E01";
        }
        ulong address = ParseHex64(parts[1]);
        ulong length = Math.Max(1, ParseHex64(parts[2].Split(';')[0]));
        WatchKind? kind = parts[0] switch
        {
            "0" or "1" => null,
            "2" => WatchKind.Write,
            "3" => WatchKind.Read,
            "4" => WatchKind.Access,
            _ => throw new FormatException(),
        };
        foreach (HartDebugger d in debuggers)
        {
            if (kind is WatchKind k)
            {
                var w = new Watchpoint(address, length, k);
                if (insert)
                {
                    d.InsertWatchpoint(w);
                }
                else
                {
                    d.RemoveWatchpoint(w);
                }
            }
            else if (insert)
            {
                d.InsertBreakpoint(address);
            }
            else
            {
                d.RemoveBreakpoint(address);
            }
        }
        return "OK";
    }

    private string ReadAllRegisters(Hart h)
    {
        var s = new StringBuilder(33 * 16);
        for (int i = 0; i <= GdbTargetDescription.Pc; i++)
        {
            s.Append(ReadRegister(h, i));
        }
        return s.ToString();
    }

    private static string WriteAllRegisters(Hart h, string hex)
    {
        if (hex.Length < 33 * 16)
        {
            return "E01";
        }
        for (int i = 1; i <= GdbTargetDescription.Pc; i++)
        {
            WriteRegister(h, i, hex.Substring(i * 16, 16));
        }
        return "OK";
    }

    private static string ReadRegister(Hart h, int regnum)
    {
        int size = GdbTargetDescription.SizeOf(regnum);
        if (size == 0)
        {
            return "E45";
        }
        ulong? value = regnum switch
        {
            < GdbTargetDescription.Pc => h.GetRegister(regnum),
            GdbTargetDescription.Pc => h.Pc,
            < GdbTargetDescription.FirstFloat + 32 => h.GetFloatRegister(regnum - GdbTargetDescription.FirstFloat),
            GdbTargetDescription.Priv => (ulong)h.Privilege,
            // The FP CSRs as the hart holds them, also while mstatus.FS is off (when a CSR read would trap).
            GdbTargetDescription.FirstCsr + CsrAddress.Fflags => h.Fcsr & 0x1F,
            GdbTargetDescription.FirstCsr + CsrAddress.Frm => h.Fcsr >> 5,
            GdbTargetDescription.FirstCsr + CsrAddress.Fcsr => h.Fcsr,
            _ => h.TryGetCsr((ushort)(regnum - GdbTargetDescription.FirstCsr), out ulong csr) ? csr : null,
        };
        return value is ulong v ? LittleEndianHex(v, size) : new string('x', size * 2);
    }

    private static string WriteRegister(Hart h, int regnum, string hex)
    {
        int size = GdbTargetDescription.SizeOf(regnum);
        byte[]? bytes = FromHex(hex);
        if (size == 0 || bytes is null || bytes.Length != size)
        {
            return "E01";
        }
        ulong value = 0;
        for (int i = size - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }
        switch (regnum)
        {
            case < GdbTargetDescription.Pc:
                h.SetRegister(regnum, value);
                return "OK";
            case GdbTargetDescription.Pc:
                h.Pc = value;
                return "OK";
            case < GdbTargetDescription.FirstFloat + 32:
                h.SetFloatRegister(regnum - GdbTargetDescription.FirstFloat, value);
                return "OK";
            case GdbTargetDescription.Priv:
                return "E01"; // the privilege changes only through the program
            default:
                return h.TrySetCsr((ushort)(regnum - GdbTargetDescription.FirstCsr), value) ? "OK" : "E01";
        }
    }

    private string ReadMemory(string rest)
    {
        string[] parts = rest.Split(',');
        if (parts.Length != 2)
        {
            return "E01";
        }
        ulong address = ParseHex64(parts[0]);
        int length = (int)Math.Min(ParseHex64(parts[1]), MaxMemoryBytes);
        var data = new byte[length];
        var notes = new List<string>();
        int n = target.Read(selected, address, data, notes);
        // A memory reply cannot carry console output: the notes go to vbase's own output (once per stop), and
        // "monitor view ADDR" shows them in gdb.
        foreach (string note in notes)
        {
            if (notesShown.Add(note))
            {
                log(note);
            }
        }
        return n == 0 && length > 0 ? "E14" : ToHex(data.AsSpan(0, n));
    }

    private string WriteMemory(string rest)
    {
        int colon = rest.IndexOf(':');
        if (colon < 0)
        {
            return "E01";
        }
        string[] parts = rest[..colon].Split(',');
        if (parts.Length != 2)
        {
            return "E01";
        }
        ulong address = ParseHex64(parts[0]), length = ParseHex64(parts[1]);
        byte[]? data = FromHex(rest[(colon + 1)..]);
        if (data is null || (ulong)data.Length != length)
        {
            return "E01";
        }
        return target.Write(selected, address, data) ? "OK" : "E14";
    }

    private Hart Hart(int thread) => target.Threads[thread];

    private static string StopReply(int thread, DebugStop stop) => stop.Kind switch
    {
        DebugStopKind.Interrupt => $"T02thread:{ThreadId(thread)};",
        DebugStopKind.Breakpoint => $"T05swbreak:;thread:{ThreadId(thread)};",
        DebugStopKind.Watchpoint => string.Create(CultureInfo.InvariantCulture,
            $"T05{stop.Watch switch { WatchKind.Write => "watch", WatchKind.Read => "rwatch", _ => "awatch" }}:{stop.WatchAddress:x};thread:{ThreadId(thread)};"),
        _ => $"T05thread:{ThreadId(thread)};",
    };

    private static string ThreadId(int thread) => (thread + 1).ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A gdb thread id (hex, from 1; "p1.2" multiprocess form too) as a 0-based thread, or null.</summary>
    private static int? ParseThread(string id)
    {
        int dot = id.IndexOf('.');
        if (dot >= 0)
        {
            id = id[(dot + 1)..];
        }
        return int.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int t) && t > 0 ? t - 1 : null;
    }

    private static int ParseHex(string s) => int.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static ulong ParseHex64(string s) => ulong.Parse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static string LittleEndianHex(ulong value, int size)
    {
        var s = new StringBuilder(size * 2);
        for (int i = 0; i < size; i++)
        {
            s.Append(((byte)(value >> (8 * i))).ToString("x2", CultureInfo.InvariantCulture));
        }
        return s.ToString();
    }

    private static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static byte[]? FromHex(string hex)
    {
        if (hex.Length % 2 != 0)
        {
            return null;
        }
        try
        {
            return Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private void Send(string payload) => Write(lastSent = RspPacketParser.Frame(payload));

    private void Write(byte[] bytes)
    {
        lock (sendLock)
        {
            try
            {
                stream?.Write(bytes);
                stream?.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                // The reader sees the close too and ends the session; nothing to do here.
            }
        }
    }

    /// <summary>Takes the debugger off every hart (breakpoints and watchpoints gone) and closes the connection.</summary>
    private void Detach()
    {
        detached = true;
        running = false;
        if (attached)
        {
            for (int i = 0; i < debuggers.Length; i++)
            {
                debuggers[i].Clear();
                if (target.Threads[i].Debugger == debuggers[i])
                {
                    target.Threads[i].Debugger = null;
                }
            }
        }
        Close();
    }

    private void Close()
    {
        lock (sendLock)
        {
            try
            {
                stream?.Dispose();
            }
            catch (IOException)
            {
                // Closing a broken connection.
            }
        }
        try
        {
            listener?.Stop();
        }
        catch (SocketException)
        {
            // Not listening any more.
        }
    }

    public void Dispose()
    {
        ended = true;
        Close();
        if (attached && !detached)
        {
            for (int i = 0; i < debuggers.Length; i++)
            {
                if (target.Threads[i].Debugger == debuggers[i])
                {
                    target.Threads[i].Debugger = null;
                }
            }
        }
        reader?.Join(1000);
        inbox.Dispose();
    }
}
