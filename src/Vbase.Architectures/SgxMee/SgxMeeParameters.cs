using Vbase.Sapi.Toolkit.Parameters;

namespace Vbase.Architectures.SgxMee;

/// <summary>
/// The settable knobs of <c>sgx-mee</c> (from <c>ArchitectureOptions.Parameters</c>; keys not listed here are
/// ignored here, and refused by <c>ArchitectureInfo.CheckParameters</c>, which scenarios go through). Ranges:
/// <c>metadata-cache-bytes</c> 64 to 2^26 (a multiple of 64 × ways), <c>metadata-cache-ways</c> 1 to 1024,
/// <c>tree-arity</c> 2 to 8 (a tree node is one 64-byte line of 8-byte digests).
/// </summary>
public sealed record SgxMeeParameters
{
    /// <summary>A tree node is one 64-byte line of 8-byte child digests.</summary>
    public const int MaxTreeArity = 8;

    /// <summary>Key: on-chip metadata cache capacity in bytes.</summary>
    public const string CacheBytesKey = "metadata-cache-bytes";
    /// <summary>Key: its associativity.</summary>
    public const string CacheWaysKey = "metadata-cache-ways";
    /// <summary>Key: integrity tree arity.</summary>
    public const string TreeArityKey = "tree-arity";
    /// <summary>Key: EPCM permissions given to every enclave page, a subset of "rwx".</summary>
    public const string PermissionsKey = "epcm-permissions";
    /// <summary>Key: refuse p2m changes of enclave GFNs by Dom0 and the hypervisor's mapping paths.</summary>
    public const string RefuseEpcRemapKey = "refuse-epc-remap";
    /// <summary>Key: walk the enclave's page table at every resume and report an enclave VA mapped elsewhere.</summary>
    public const string CheckMappingsKey = "check-mappings-on-resume";

    /// <summary>32 KiB, 8-way, 64-byte lines: the order of the MEE's internal cache.</summary>
    public int MetadataCacheBytes { get; init; } = 32 * 1024;
    public int MetadataCacheWays { get; init; } = 8;
    /// <summary>The MEE's tree is 8-ary.</summary>
    public int TreeArity { get; init; } = 8;
    /// <summary>Read, write and execute: the vbase syscall carries no SECINFO, and an enclave may hold its own code.</summary>
    public EpcmPermissions Permissions { get; init; } = EpcmPermissions.Read | EpcmPermissions.Write | EpcmPermissions.Execute;
    public bool RefuseEpcRemap { get; init; } = true;
    public bool CheckMappingsOnResume { get; init; } = true;

    /// <summary>Reads the keys above from <paramref name="parameters"/>; a malformed value is an error naming the key.</summary>
    public static SgxMeeParameters Parse(IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var p = new SgxMeeParameters();
        if (parameters.TryGetValue(CacheBytesKey, out string? bytes))
        {
            p = p with { MetadataCacheBytes = ParameterValues.Integer(CacheBytesKey, bytes, 64, 1 << 26) };
        }
        if (parameters.TryGetValue(CacheWaysKey, out string? ways))
        {
            p = p with { MetadataCacheWays = ParameterValues.Integer(CacheWaysKey, ways, 1, 1024) };
        }
        if (parameters.TryGetValue(TreeArityKey, out string? arity))
        {
            p = p with { TreeArity = ParameterValues.Integer(TreeArityKey, arity, 2, MaxTreeArity) };
        }
        if (p.MetadataCacheBytes % (p.MetadataCacheWays * 64) != 0 || p.MetadataCacheBytes < p.MetadataCacheWays * 64)
        {
            throw new ArgumentException($"{CacheBytesKey}: {p.MetadataCacheBytes} is not a positive multiple of {CacheWaysKey} ({p.MetadataCacheWays}) × 64", nameof(parameters));
        }
        if (parameters.TryGetValue(PermissionsKey, out string? permissions))
        {
            p = p with
            {
                Permissions = EnclavePageCacheMap.ParsePermissions(permissions)
                    ?? throw new ArgumentException($"{PermissionsKey}: '{permissions}' is not a subset of rwx", nameof(parameters)),
            };
        }
        if (parameters.TryGetValue(RefuseEpcRemapKey, out string? refuse))
        {
            p = p with { RefuseEpcRemap = ParameterValues.Boolean(RefuseEpcRemapKey, refuse) };
        }
        if (parameters.TryGetValue(CheckMappingsKey, out string? check))
        {
            p = p with { CheckMappingsOnResume = ParameterValues.Boolean(CheckMappingsKey, check) };
        }
        return p;
    }
}
