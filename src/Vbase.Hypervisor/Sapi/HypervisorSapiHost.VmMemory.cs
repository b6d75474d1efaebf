using Vbase.Hypervisor.Domains;
using Vbase.Sapi;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Logging;
using Vbase.Sapi.Memory;
using Vbase.Sapi.P2m;

namespace Vbase.Hypervisor.Sapi;

// Whole-VM memory encryption (SapiHost.EncryptVm). A VM's private frames outside regions keep their plaintext in
// host memory, which is what the VM's memory controller hands the chip; their DRAM bytes are computed when someone
// outside the VM looks (Encrypt) and an outside write is folded back (Encrypt, patch, Decrypt). For a cipher with
// no integrity and a per-address tweak, that is the same machine as one whose DRAM holds the ciphertext, and it keeps
// the VM's own accesses, page walks and code on the harts' fast path: the representation is chosen for speed, and
// nothing that can observe it sees a difference. Frames inside a region are the chip's (the plug-in seals them into
// real ciphertext with the same cipher, so a frame moves between the two without changing what anyone sees).
public sealed partial class HypervisorSapiHost
{
    private readonly Dictionary<ushort, VmMemoryCipher> vmCiphers = [];
    private bool[]? vmPrivate;                               // per MFN: private memory of an encrypted VM
    private readonly byte[] vmScratch = new byte[PageSize.Bytes];

    public override IReadOnlyList<(Gfn Gfn, Mfn Mfn)> EncryptVm(DomainId domain, VmMemoryCipher cipher)
    {
        ArgumentNullException.ThrowIfNull(cipher);
        Domain d = Find(domain) ?? throw new ArgumentException($"no domain {domain}", nameof(domain));
        if (cipher.BlockBytes is < 1 or > PageSize.Bytes || PageSize.Bytes % cipher.BlockBytes != 0)
        {
            throw new ArgumentException($"a cipher block of {cipher.BlockBytes} bytes does not divide a page", nameof(cipher));
        }
        if (d.Privileged)
        {
            throw new ArgumentException($"dom {domain.Value} is privileged: Dom0's own memory is not a guest's to encrypt", nameof(domain));
        }
        vmPrivate ??= new bool[hv.Machine.FrameCount];
        vmCiphers[domain.Value] = cipher;
        var taken = new List<(Gfn, Mfn)>();
        foreach ((Gfn gfn, P2mEntry e) in d.P2m.Snapshot())
        {
            if (e.Type is P2mType.RamRw or P2mType.RamRo && hv.Machine.OwnerOf(e.Mfn) == domain && !vmPrivate[e.Mfn.Value])
            {
                vmPrivate[e.Mfn.Value] = true;
                taken.Add((gfn, e.Mfn));
            }
        }
        taken.Sort(static (a, b) => a.Item1.Value.CompareTo(b.Item1.Value));
        return taken;
    }

    public override bool IsVmPrivate(Mfn mfn) =>
        vmPrivate is not null && mfn.Value < (ulong)vmPrivate.Length && vmPrivate[mfn.Value] && interposed[mfn.Value] == 0;

    /// <summary>Dom0 finished building <paramref name="domain"/>: the plug-in may take its memory now.</summary>
    internal void DomainLaunched(DomainId domain) => architecture?.OnDomainLaunched(domain);

    /// <summary>Before <paramref name="domain"/>'s frames are freed: nothing of it stays private or keyed.</summary>
    internal void DomainDestroyed(DomainId domain)
    {
        architecture?.OnDomainDestroyed(domain);
        if (vmPrivate is not null && vmCiphers.Remove(domain.Value))
        {
            for (ulong m = 0; m < (ulong)vmPrivate.Length; m++)
            {
                if (vmPrivate[m] && hv.Machine.OwnerOf(new Mfn(m)) == domain)
                {
                    vmPrivate[m] = false;
                }
            }
        }
    }

    /// <summary>
    /// The guest granted <paramref name="mfn"/> and another domain mapped it: the guest shared the page (as a SEV guest
    /// decrypts a page before it shares it), so DRAM holds its plaintext from now on.
    /// </summary>
    internal void ShareVmFrame(Mfn mfn)
    {
        if (IsVmPrivate(mfn))
        {
            vmPrivate![mfn.Value] = false;
        }
    }

    /// <summary>
    /// A p2m change that would put an encrypted VM's private frame into another domain's p2m other than through a grant
    /// (Dom0's SetP2mEntry, a privileged map_foreign): the mapping would hand that domain's harts the ciphertext, which
    /// the testbed does not model on their fast path, so it is refused (and recorded) before the plug-in is asked.
    /// </summary>
    private bool MapsVmPrivateElsewhere(DomainId domain, P2mEntry proposed) =>
        proposed.Type is not (P2mType.Invalid or P2mType.GrantMapRo or P2mType.GrantMapRw) && IsVmPrivate(proposed.Mfn)
        && hv.Machine.OwnerOf(proposed.Mfn) != domain;

    /// <summary>Dom0's foreign read of a private frame: the DRAM ciphertext.</summary>
    internal void ReadVmPrivate(Mfn mfn, int offset, Span<byte> dest)
    {
        VmMemoryCipher cipher = CipherOf(mfn, offset, dest.Length, out int start, out int end);
        cipher.Encrypt(hv.Machine.Frame(mfn)[start..end], vmScratch.AsSpan(0, end - start), (mfn.Value << PageSize.Shift) + (ulong)start);
        vmScratch.AsSpan(offset - start, dest.Length).CopyTo(dest);
    }

    /// <summary>
    /// Raw bytes written into a private frame from outside the VM (Dom0, the bus): they replace DRAM's bytes, and the VM
    /// reads their decryption. False if the plug-in refuses the write (<see cref="IVmmuHooks.AllowVmMemoryWrite"/>).
    /// </summary>
    internal bool WriteVmPrivate(Mfn mfn, int offset, ReadOnlySpan<byte> data, Accessor writer)
    {
        DomainId owner = hv.Machine.OwnerOf(mfn) ?? throw new ArgumentException($"{mfn} has no owner", nameof(mfn));
        if (architecture is not null && !architecture.AllowVmMemoryWrite(owner, mfn, writer))
        {
            return false;
        }
        FoldIntoVmPrivate(mfn, offset, data);
        return true;
    }

    /// <summary>Raw DRAM bytes over part of a private frame: what the VM reads from then on is their decryption.</summary>
    private void FoldIntoVmPrivate(Mfn mfn, int offset, ReadOnlySpan<byte> data)
    {
        VmMemoryCipher cipher = CipherOf(mfn, offset, data.Length, out int start, out int end);
        Span<byte> frame = hv.Machine.Frame(mfn);
        ulong address = (mfn.Value << PageSize.Shift) + (ulong)start;
        Span<byte> dram = vmScratch.AsSpan(0, end - start);
        cipher.Encrypt(frame[start..end], dram, address);
        data.CopyTo(dram[(offset - start)..]);
        cipher.Decrypt(dram, frame[start..end], address);
    }

    /// <summary>
    /// Machine memory as the bus carries it (a physical attacker's probe): the ciphertext of an encrypted VM's private
    /// frames, and every other frame's bytes as DRAM holds them (a region's lines that are on chip are not in them:
    /// evict first, <see cref="EvictForAttack"/>).
    /// </summary>
    public void ReadDram(Mfn mfn, int offset, Span<byte> dest)
    {
        CheckFrameRange(mfn, offset, dest.Length);
        if (IsVmPrivate(mfn))
        {
            ReadVmPrivate(mfn, offset, dest);
            return;
        }
        hv.Machine.Frame(mfn).Slice(offset, dest.Length).CopyTo(dest);
    }

    /// <summary>Raw bytes onto the bus at <paramref name="mfn"/> + <paramref name="offset"/> (below every check: no plug-in may refuse it).</summary>
    public void WriteDram(Mfn mfn, int offset, ReadOnlySpan<byte> data)
    {
        CheckFrameRange(mfn, offset, data.Length);
        if (IsVmPrivate(mfn))
        {
            FoldIntoVmPrivate(mfn, offset, data);
        }
        else
        {
            data.CopyTo(hv.Machine.Frame(mfn)[offset..]);
        }
        hv.NotifyMachineWrite(mfn, (uint)offset, (uint)data.Length);
    }

    private void CheckFrameRange(Mfn mfn, int offset, int length)
    {
        if (!hv.Machine.IsValid(mfn) || offset < 0 || length < 0 || offset + length > PageSize.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"{mfn} + {offset}, {length} bytes: not inside one frame of machine memory");
        }
    }

    private VmMemoryCipher CipherOf(Mfn mfn, int offset, int length, out int start, out int end)
    {
        DomainId owner = hv.Machine.OwnerOf(mfn) ?? throw new ArgumentException($"{mfn} has no owner", nameof(mfn));
        VmMemoryCipher cipher = vmCiphers[owner.Value];
        int block = cipher.BlockBytes;
        start = offset / block * block;
        end = (offset + length + block - 1) / block * block;
        return cipher;
    }
}
