using System.Text;
using Vbase.Hypervisor.Events;
using Vbase.Hypervisor.Grants;
using Vbase.Hypervisor.P2m;
using Vbase.Hypervisor.Scheduling;
using Vbase.Sapi;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Domains;

/// <summary>A guest domain: its p2m, vCPUs, event channels, grant table and console.</summary>
internal sealed unsafe class Domain
{
    public Domain(Hypervisor hypervisor, DomainId id, DomainConfig config)
    {
        Hypervisor = hypervisor;
        Id = id;
        Config = config;
        P2m = new P2mTable();
        Physical = new DomainPhysicalMemory(this);
        Events = new EventChannels(this);
        Grants = new GrantTable(this);
        P2m.Changed += OnP2mChanged;
    }

    public Hypervisor Hypervisor { get; }
    public MachineMemory Machine => Hypervisor.Machine;
    public DomainId Id { get; }
    public DomainConfig Config { get; }
    public string Name => Config.Name;
    public P2mTable P2m { get; }
    public DomainPhysicalMemory Physical { get; }
    public EventChannels Events { get; }
    public GrantTable Grants { get; }
    public List<Vcpu> Vcpus { get; } = [];
    public Gfn SharedInfoGfn { get; } = new GuestPhysicalAddress(GuestLayout.SharedInfo).Gfn;
    public bool Privileged => Config.Privileged;

    public bool Paused { get; set; } = true;
    public bool IsShutdown { get; private set; }
    public bool IsDestroyed { get; set; }
    public ShutdownReason? Reason { get; private set; }
    public long? ExitCode { get; private set; }

    /// <summary>The console's last <see cref="ConsoleTailBytes"/> bytes, for Dom0's <c>ReadConsole</c>.</summary>
    public ConsoleTail ConsoleText { get; } = new(ConsoleTailBytes);

    /// <summary>How much of a domain's console Dom0 can read back (the whole output goes to the run's files).</summary>
    public const int ConsoleTailBytes = 64 * 1024;

    /// <summary>A line longer than this is passed on in pieces (a guest that never writes a newline must not grow it).</summary>
    public const int ConsoleLineBytes = 4096;

    private ulong consoleWritten, consoleDropped;

    public Queue<byte> ConsoleInput { get; } = new();

    public DomainState State =>
        IsDestroyed ? DomainState.Destroyed
        : IsShutdown ? DomainState.Shutdown
        : Paused ? DomainState.Paused
        : Vcpus.Any(v => !v.Blocked) ? DomainState.Running
        : DomainState.Blocked;

    public ulong Instructions => (ulong)Vcpus.Sum(v => (long)v.Hart.Instret);

    public void Shutdown(ShutdownReason reason, long exitCode)
    {
        if (IsShutdown)
        {
            return;
        }
        IsShutdown = true;
        FlushConsoleLine();
        if (consoleDropped > 0)
        {
            Hypervisor.Record(Id, null, new ConsoleDroppedData(Config.ConsoleLimitBytes, consoleDropped, AtShutdown: true));
        }
        Reason = reason;
        ExitCode = exitCode;
        foreach (Vcpu v in Vcpus)
        {
            v.Hart.RequestStop();
        }
        Hypervisor.Record(Id, null, new DomainShutdownData(reason, exitCode));
        Hypervisor.SendVirq(DomainId.Dom0, Virq.DomainException);
    }

    private readonly StringBuilder pendingLine = new();

    /// <summary>The console has used up its limit: every further byte is dropped.</summary>
    public bool ConsoleFull => consoleWritten >= Config.ConsoleLimitBytes;

    /// <summary>Writes to the console within its limit; <paramref name="dropped"/> more bytes were not even read.</summary>
    public void WriteConsole(ReadOnlySpan<byte> bytes, ulong dropped = 0)
    {
        ulong room = Config.ConsoleLimitBytes - Math.Min(consoleWritten, Config.ConsoleLimitBytes);
        if ((ulong)bytes.Length > room || dropped > 0)
        {
            if (consoleDropped == 0)
            {
                Hypervisor.Record(Id, Hypervisor.CurrentVcpuId, new ConsoleDroppedData(Config.ConsoleLimitBytes, 0, AtShutdown: false));
            }
            consoleDropped += dropped + (ulong)bytes.Length - Math.Min(room, (ulong)bytes.Length);
            bytes = bytes[..(int)Math.Min(room, (ulong)bytes.Length)];
        }
        consoleWritten += (ulong)bytes.Length;
        if (bytes.IsEmpty)
        {
            return;
        }
        ConsoleText.Append(bytes);
        if (Config.ConsoleLine is not null)
        {
            foreach (byte b in bytes)
            {
                if (b == (byte)'\n' || pendingLine.Length >= ConsoleLineBytes)
                {
                    Config.ConsoleLine(Id, pendingLine.ToString());
                    pendingLine.Clear();
                }
                if (b != (byte)'\n')
                {
                    pendingLine.Append((char)b);
                }
            }
        }
        Config.ConsoleOutput?.Invoke(Id, bytes);
    }

    private void FlushConsoleLine()
    {
        if (pendingLine.Length > 0)
        {
            Config.ConsoleLine?.Invoke(Id, pendingLine.ToString());
            pendingLine.Clear();
        }
    }

    private void OnP2mChanged(Gfn gfn)
    {
        // The hart caches host pointers per page (TLB) and decoded code per physical page; both may now be stale.
        foreach (Vcpu v in Vcpus)
        {
            v.Hart.FlushTranslationCaches();
            v.Hart.InvalidateCode(gfn.Address.Value, PageSize.Bytes);
            v.Hart.InvalidateReservation(gfn.Address.Value, PageSize.Bytes);
        }
    }

    // Guest memory as the hypervisor reaches it on a guest's behalf. Guest pointers and lengths are untrusted:
    // every helper checks each page against the p2m and answers false instead of throwing.

    /// <summary>
    /// Copies guest-physical [gpa, gpa+dest.Length) out; false if any page is not readable. Protected frames are
    /// read through the plugged-in architecture as <paramref name="accessor"/> (the hypervisor on the guest's
    /// behalf unless told otherwise).
    /// </summary>
    public bool TryRead(ulong gpa, Span<byte> dest, Accessor accessor = Accessor.Hypervisor)
    {
        if (!RangeOk(gpa, dest.Length))
        {
            return false;
        }
        int done = 0;
        while (done < dest.Length)
        {
            ulong a = gpa + (ulong)done;
            P2mEntry e = P2m.Lookup(new Gfn(a >> PageSize.Shift));
            if (!e.Type.IsReadable())
            {
                return false;
            }
            int off = (int)(a & PageSize.Mask);
            int n = Math.Min(PageSize.Bytes - off, dest.Length - done);
            if (Hypervisor.Sapi.IsInterposed(e.Mfn))
            {
                if (!Hypervisor.Sapi.Read(accessor, AccessKind.Load, Initiator(accessor), Hypervisor.Current, e.Mfn, off, dest.Slice(done, n)))
                {
                    return false;
                }
            }
            else
            {
                new ReadOnlySpan<byte>(Machine.HostPointer(e.Mfn) + off, n).CopyTo(dest[done..]);
            }
            done += n;
        }
        return true;
    }

    /// <summary>
    /// Copies into guest-physical memory; false (and nothing written) if any page is not writable. Protected
    /// frames are written through the plugged-in architecture, which may drop the write or refuse it (false,
    /// with the pages before it written).
    /// </summary>
    public bool TryWrite(ulong gpa, ReadOnlySpan<byte> source, Accessor accessor = Accessor.Hypervisor)
    {
        if (!RangeOk(gpa, source.Length))
        {
            return false;
        }
        for (ulong a = gpa & ~PageSize.Mask; a < gpa + (ulong)source.Length; a += PageSize.Bytes)
        {
            if (!P2m.Lookup(new Gfn(a >> PageSize.Shift)).Type.IsWritable())
            {
                return false;
            }
        }
        int done = 0;
        bool sharedInfo = false;
        while (done < source.Length)
        {
            ulong a = gpa + (ulong)done;
            var gfn = new Gfn(a >> PageSize.Shift);
            P2mEntry e = P2m.Lookup(gfn);
            int off = (int)(a & PageSize.Mask);
            int n = Math.Min(PageSize.Bytes - off, source.Length - done);
            if (Hypervisor.Sapi.IsInterposed(e.Mfn))
            {
                if (!Hypervisor.Sapi.Write(accessor, AccessKind.Store, Initiator(accessor), Hypervisor.Current, e.Mfn, off, source.Slice(done, n)))
                {
                    NotifyWritten(gpa, (ulong)done);
                    return false;
                }
            }
            else
            {
                source.Slice(done, n).CopyTo(new Span<byte>(Machine.HostPointer(e.Mfn) + off, n));
            }
            sharedInfo |= gfn == SharedInfoGfn;
            done += n;
        }
        NotifyWritten(gpa, (ulong)source.Length);
        if (sharedInfo)
        {
            Events.UpdateUpcallLines();
        }
        return true;
    }

    /// <summary>Tells this domain's harts that someone other than them wrote guest memory (code and LR/SC).</summary>
    public void NotifyWritten(ulong gpa, ulong length)
    {
        foreach (Vcpu v in Vcpus)
        {
            v.Hart.InvalidateCode(gpa, length);
            v.Hart.InvalidateReservation(gpa, length);
        }
    }

    public bool TryReadU64(ulong gpa, out ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        bool ok = TryRead(gpa, b);
        value = ok ? BitConverter.ToUInt64(b) : 0;
        return ok;
    }

    private DomainId Initiator(Accessor accessor) => accessor == Accessor.Dom0 ? DomainId.Dom0 : Id;

    /// <summary>Whether every page of guest-physical [gpa, gpa+length) is readable (what <see cref="TryRead"/> checks first).</summary>
    public bool IsReadable(ulong gpa, int length)
    {
        if (!RangeOk(gpa, length))
        {
            return false;
        }
        for (ulong a = gpa & ~PageSize.Mask; a < gpa + (ulong)length; a += PageSize.Bytes)
        {
            if (!P2m.Lookup(new Gfn(a >> PageSize.Shift)).Type.IsReadable())
            {
                return false;
            }
        }
        return true;
    }

    private static bool RangeOk(ulong gpa, int length) => length >= 0 && gpa <= ulong.MaxValue - (ulong)length;

    /// <summary>The frame that holds the shared-info page (fixed at build, whatever the p2m later says).</summary>
    public Mfn SharedInfoMfn { get; set; }

    public byte* SharedInfoPointer => Machine.HostPointer(SharedInfoMfn);
}
