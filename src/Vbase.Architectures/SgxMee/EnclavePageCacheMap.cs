using Vbase.Sapi;
using Vbase.Sapi.Memory;

namespace Vbase.Architectures.SgxMee;

/// <summary>An EPC page's access rights, as SGX's SECINFO gives them to EADD and the EPCM keeps them.</summary>
[Flags]
public enum EpcmPermissions
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
}

/// <summary>
/// One EPCM entry: the enclave that owns the EPC page (its secure context and region), the page's index in the
/// region, the virtual address the enclave must use to reach it, and its permissions.
/// </summary>
public readonly record struct EpcmEntry(ProtectedRegion Enclave, SecureContext Owner, int Page, ulong VirtualAddress,
    EpcmPermissions Permissions);

/// <summary>
/// SGX's Enclave Page Cache Map: per physical page of the EPC, who owns it and at which virtual address. The processor
/// consults it after the page walk on every enclave TLB fill; here the plug-in consults it on every access to an EPC
/// frame, which is stricter (no stale TLB entries to exploit).
/// </summary>
public sealed class EnclavePageCacheMap
{
    private readonly Dictionary<ulong, EpcmEntry> entries = [];

    /// <summary>EPC pages in use.</summary>
    public int Count => entries.Count;

    /// <summary>Records that <paramref name="mfn"/> now belongs to an enclave (SGX's EADD).</summary>
    public void Add(Mfn mfn, EpcmEntry entry)
    {
        if (!entries.TryAdd(mfn.Value, entry))
        {
            throw new InvalidOperationException($"{mfn} is already an EPC page");
        }
    }

    /// <summary>The frame is no longer an EPC page (SGX's EREMOVE).</summary>
    public void Remove(Mfn mfn) => entries.Remove(mfn.Value);

    /// <summary>The entry of <paramref name="mfn"/>, if it is an EPC page.</summary>
    public bool TryGet(Mfn mfn, out EpcmEntry entry) => entries.TryGetValue(mfn.Value, out entry);

    /// <summary>True if <paramref name="mfn"/> is an EPC page.</summary>
    public bool Contains(Mfn mfn) => entries.ContainsKey(mfn.Value);

    /// <summary>The permissions a kind of access needs.</summary>
    public static EpcmPermissions Required(AccessKind kind, bool isWrite) =>
        isWrite ? EpcmPermissions.Write : kind == AccessKind.Fetch ? EpcmPermissions.Execute : EpcmPermissions.Read;

    /// <summary>"rwx" → Read | Write | Execute; null if the text is not a subset of "rwx".</summary>
    public static EpcmPermissions? ParsePermissions(string text)
    {
        EpcmPermissions p = EpcmPermissions.None;
        foreach (char c in text)
        {
            switch (char.ToLowerInvariant(c))
            {
                case 'r': p |= EpcmPermissions.Read; break;
                case 'w': p |= EpcmPermissions.Write; break;
                case 'x': p |= EpcmPermissions.Execute; break;
                case '-': break;
                default: return null;
            }
        }
        return p;
    }

    /// <summary>"rw-", "r-x", …</summary>
    public static string Format(EpcmPermissions p) => string.Concat(
        (p & EpcmPermissions.Read) != 0 ? "r" : "-",
        (p & EpcmPermissions.Write) != 0 ? "w" : "-",
        (p & EpcmPermissions.Execute) != 0 ? "x" : "-");
}
