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

/// <summary>An emulated device's window in a domain's guest-physical space.</summary>
internal readonly record struct MmioWindow(ulong Base, Vbase.Platform.Devices.IDevice Device);

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
        WatchdogInstructions = config.WatchdogInstructions
            ?? (Boot.LinuxImage.IsImage(config.Kernel) ? DomainConfig.LinuxWatchdogInstructions : 0);
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

    /// <summary>
    /// Emulated-MMIO windows (virtio-mmio devices) in the guest-physical space, where the p2m has no entry: every
    /// access to them takes the hart's slow path and reaches the device, and no DMA helper
    /// (<see cref="TryRead"/>, <see cref="TryWrite"/>) ever treats them as memory.
    /// </summary>
    public MmioWindow[] Mmio { get; private set; } = [];

    /// <summary>Places <paramref name="device"/> at guest-physical <paramref name="gpa"/>; the window must hold no p2m entry or other window.</summary>
    public void MapMmio(ulong gpa, Vbase.Platform.Devices.IDevice device)
    {
        ulong size = device.Size;
        if (gpa % PageSize.Bytes != 0 || size == 0 || size % PageSize.Bytes != 0 || gpa > ulong.MaxValue - size)
        {
            throw new ArgumentException($"{device.Name}: an MMIO window is whole pages at a page boundary", nameof(gpa));
        }
        for (ulong a = gpa; a < gpa + size; a += PageSize.Bytes)
        {
            if (P2m.Lookup(new Gfn(a >> PageSize.Shift)).Type != P2mType.Invalid)
            {
                throw new ArgumentException($"{device.Name} at 0x{gpa:x} overlaps the domain's memory", nameof(gpa));
            }
        }
        if (Mmio.Any(w => gpa < w.Base + w.Device.Size && w.Base < gpa + size))
        {
            throw new ArgumentException($"{device.Name} at 0x{gpa:x} overlaps another device", nameof(gpa));
        }
        Mmio = [.. Mmio, new MmioWindow(gpa, device)];
        OnP2mChanged(new Gfn(gpa >> PageSize.Shift));
    }

    /// <summary>
    /// A Linux domain's virtual PLIC (null for the small kernel, whose devices interrupt through event channels):
    /// context n drives vCPU n's SEIP, together with the event-channel upcall (<see cref="ExternalLine"/>).
    /// </summary>
    public Vbase.Platform.Devices.VirtualPlic? Plic { get; set; }

    /// <summary>A Linux domain's virtio-console (<c>console: virtio</c>); null: none.</summary>
    public Devices.GuestConsole? VirtioConsole { get; set; }

    /// <summary>The level of <paramref name="vcpu"/>'s SEIP line: the event-channel upcall or its PLIC context.</summary>
    public bool ExternalLine(int vcpu) => Events.UpcallLevel(vcpu) || (Plic?.Output(vcpu) ?? false);

    /// <summary>The window that holds all of [address, address + size), if any.</summary>
    public bool TryFindMmio(ulong address, int size, out MmioWindow window)
    {
        foreach (MmioWindow w in Mmio)
        {
            if (address >= w.Base && address - w.Base < w.Device.Size && (ulong)size <= w.Device.Size - (address - w.Base))
            {
                window = w;
                return true;
            }
        }
        window = default;
        return false;
    }
    public bool Privileged => Config.Privileged;

    public bool Paused { get; set; } = true;
    public bool IsShutdown { get; private set; }
    public bool IsDestroyed { get; set; }
    public ShutdownReason? Reason { get; private set; }
    public long? ExitCode { get; private set; }

    /// <summary>Where the watchdog stopped the domain, if it did.</summary>
    public DomainWedge? Wedge { get; private set; }

    /// <summary>Instructions a vCPU may run without calling the hypervisor (<see cref="DomainConfig.WatchdogInstructions"/>); 0: no watchdog.</summary>
    public ulong WatchdogInstructions { get; }

    /// <summary>
    /// The watchdog fired on <paramref name="vcpu"/>: recorded with where it was, then the domain shuts down as
    /// crashed, so that a hung guest ends the run with a reason instead of running to the instruction limit.
    /// </summary>
    internal void Wedged(Vcpu vcpu)
    {
        Wedge = new DomainWedge(vcpu.Id, vcpu.Hart.Pc, vcpu.RanSinceCall);
        Hypervisor.Record(Id, vcpu.Id, new DomainWedgedData(vcpu.Id, vcpu.Hart.Pc, vcpu.RanSinceCall));
        Shutdown(ShutdownReason.Crash, -1);
    }

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
