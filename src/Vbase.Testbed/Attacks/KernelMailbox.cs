using System.Buffers.Binary;
using Hv = Vbase.Hypervisor.Hypervisor;
using Vbase.Sapi.Abi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;

namespace Vbase.Testbed.Attacks;

/// <summary>A command for the guest kernel's attack mailbox (docs/abi.md, "attack mailbox").</summary>
internal enum MailboxOp : uint
{
    Read = 1,
    Write = 2,
    Remap = 3,
    ForeignSweep = 4,
}

/// <summary>What the guest kernel answered.</summary>
internal sealed record MailboxAnswer(long Result, ulong GfnBefore, ulong GfnAfter, byte[] Data, long[] Codes, uint Obtained);

/// <summary>
/// The Controller's side of the guest kernel's attack mailbox: a page in the kernel (symbol
/// <c>vbase_attack_mailbox</c>) that Dom0 writes a command into before sending VIRQ_ATTACK; the kernel carries
/// it out with its own privileges and answers in the same page.
/// </summary>
internal sealed class KernelMailbox(Hv hv, DomainId domain, ulong gpa, Func<Func<bool>, ulong, bool> runUntil)
{
    public const string Symbol = "vbase_attack_mailbox";
    public const int VirqAttack = Virq.Attack;
    // The layout is declared once, in src/Vbase.Sapi/Abi/abi.yaml (the kernel's abi.h comes from the same place).
    public const uint Magic = AttackMailboxLayout.Magic;
    public const int DataOffset = AttackMailboxLayout.Data, DataBytes = AttackMailboxLayout.DataBytes, MaxGfns = AttackMailboxLayout.MaxGfns;
    private const int SeqOffset = AttackMailboxLayout.Seq, OpOffset = AttackMailboxLayout.Op, PidOffset = AttackMailboxLayout.Pid,
        VaOffset = AttackMailboxLayout.Va, LenOffset = AttackMailboxLayout.Len, DoneOffset = AttackMailboxLayout.DoneSeq,
        ResultOffset = AttackMailboxLayout.Result, GfnBeforeOffset = AttackMailboxLayout.GfnBefore, GfnAfterOffset = AttackMailboxLayout.GfnAfter,
        DomidOffset = AttackMailboxLayout.TargetDomid, GfnCountOffset = AttackMailboxLayout.GfnCount, GfnsOffset = AttackMailboxLayout.Gfns,
        CodesOffset = AttackMailboxLayout.Codes, AttemptsOffset = AttackMailboxLayout.Attempts, ObtainedOffset = AttackMailboxLayout.Obtained,
        SelfGfnOffset = AttackMailboxLayout.SelfGfn;

    /// <summary>Instructions the kernel gets to answer before the Controller gives up.</summary>
    public const ulong AnswerBudget = 5_000_000;

    public bool Ready => gpa != 0 && ReadU32(0) == Magic;

    /// <summary>
    /// The mailbox of a Linux guest (vbase.ko's: a page it allocated, docs/linux.md): the first RAM page that starts
    /// with the magic and holds its own GFN in <c>self_gfn</c>; null if there is none. The frames of protected regions
    /// are skipped, so the scan reads nothing an architecture guards.
    /// </summary>
    public static ulong? FindInRam(Hv hv, DomainId domain)
    {
        var guarded = new HashSet<ulong>(hv.Sapi.Regions.Where(r => r.Domain == domain).SelectMany(r => r.Gfns).Select(g => g.Value));
        ulong pages = hv.Dom0.GetInfo(domain).MemoryBytes / PageSize.Bytes;
        Span<byte> head = stackalloc byte[SelfGfnOffset + 4];
        for (ulong i = 0; i < pages; i++)
        {
            ulong gfn = (GuestLayout.RamBase >> PageSize.Shift) + i;
            if (guarded.Contains(gfn) || hv.Dom0.ReadGuest(domain, new GuestPhysicalAddress(gfn << PageSize.Shift), head) != 0)
            {
                continue;
            }
            if (BinaryPrimitives.ReadUInt32LittleEndian(head) == Magic && BinaryPrimitives.ReadUInt32LittleEndian(head[SelfGfnOffset..]) == (uint)gfn)
            {
                return gfn << PageSize.Shift;
            }
        }
        return null;
    }

    /// <summary>Posts a command, signals the kernel and lets the guests run until it has answered; null if it never did.</summary>
    public MailboxAnswer? Post(MailboxOp op, ulong va = 0, int length = 0, ReadOnlySpan<byte> data = default, int pid = 0,
        ushort targetDomain = 0, IReadOnlyList<Gfn>? gfns = null)
    {
        uint seq = ReadU32(SeqOffset) + 1;
        Span<byte> header = stackalloc byte[64];
        header.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header[OpOffset..], (uint)op);
        BinaryPrimitives.WriteInt32LittleEndian(header[PidOffset..], pid);
        BinaryPrimitives.WriteUInt64LittleEndian(header[VaOffset..], va);
        BinaryPrimitives.WriteUInt32LittleEndian(header[LenOffset..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[DoneOffset..], ReadU32(DoneOffset));
        BinaryPrimitives.WriteUInt16LittleEndian(header[DomidOffset..], targetDomain);
        BinaryPrimitives.WriteUInt16LittleEndian(header[GfnCountOffset..], (ushort)Math.Min(gfns?.Count ?? 0, MaxGfns));
        Write(OpOffset, header[OpOffset..]);
        if (gfns is not null)
        {
            byte[] list = new byte[Math.Min(gfns.Count, MaxGfns) * 8];
            for (int i = 0; i < list.Length / 8; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(list.AsSpan(i * 8), gfns[i].Value);
            }
            Write(GfnsOffset, list);
        }
        if (!data.IsEmpty)
        {
            Write(DataOffset, data[..Math.Min(data.Length, DataBytes)]);
        }
        // The sequence number last: it is what makes the command visible.
        Span<byte> s = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(s, seq);
        Write(SeqOffset, s);
        hv.Dom0.SendVirq(domain, VirqAttack);
        if (!runUntil(() => ReadU32(DoneOffset) == seq, AnswerBudget))
        {
            return null;
        }
        byte[] page = new byte[PageSize.Bytes];
        hv.Dom0.ReadGuest(domain, new GuestPhysicalAddress(gpa), page);
        uint attempts = Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(AttemptsOffset)), MaxGfns);
        long[] codes = new long[attempts];
        for (int i = 0; i < codes.Length; i++)
        {
            codes[i] = BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(CodesOffset + i * 8));
        }
        return new MailboxAnswer(
            BinaryPrimitives.ReadInt64LittleEndian(page.AsSpan(ResultOffset)),
            BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(GfnBeforeOffset)),
            BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(GfnAfterOffset)),
            page.AsSpan(DataOffset, DataBytes).ToArray(),
            codes,
            BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(ObtainedOffset)));
    }

    private uint ReadU32(int offset)
    {
        Span<byte> b = stackalloc byte[4];
        return hv.Dom0.ReadGuest(domain, new GuestPhysicalAddress(gpa + (ulong)offset), b) == 0 ? BinaryPrimitives.ReadUInt32LittleEndian(b) : 0;
    }

    private void Write(int offset, ReadOnlySpan<byte> bytes)
    {
        if (hv.Dom0.WriteGuest(domain, new GuestPhysicalAddress(gpa + (ulong)offset), bytes) != 0)
        {
            throw new InvalidOperationException($"the attack mailbox at 0x{gpa + (ulong)offset:x} is not writable");
        }
    }
}
