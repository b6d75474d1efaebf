using System.Buffers.Binary;
using System.Security.Cryptography;
using Vbase.Sapi.Domains;
using Vbase.Sapi.Memory;
using Vbase.Sapi.Toolkit.Crypto;

namespace Vbase.Architectures.Sev;

/// <summary>
/// The memory controller's key slots: one VM encryption key (VEK) per domain, as AMD's secure processor gives each
/// SEV guest its own key (its ASID's slot). Keys derive from the run's seed and the domain id, so runs are
/// reproducible and two VMs never share a key. Each key is an XTS-AES-128 pair (data key, tweak key) used in the
/// address-tweaked memory form (<see cref="AesXts.EncryptAtAddress"/>).
/// </summary>
/// <remarks>Not thread-safe (one hypervisor runs one thread); keys are created at registration, never per access.</remarks>
public sealed class VmEncryptionKeys(ulong seed) : IDisposable
{
    /// <summary>The encryption unit: one AES block, tweaked by its machine address.</summary>
    public const int BlockBytes = AesXts.BlockBytes;

    private readonly Dictionary<ushort, AesXts> byDomain = [];

    /// <summary>The domain's key, created on first use.</summary>
    public AesXts Of(DomainId domain)
    {
        if (!byDomain.TryGetValue(domain.Value, out AesXts? key))
        {
            key = Derive(seed, domain);
            byDomain.Add(domain.Value, key);
        }
        return key;
    }

    /// <summary>HMAC-SHA-256(seed, label ‖ domain id): the first half is the data key, the second the tweak key.</summary>
    private static AesXts Derive(ulong seed, DomainId domain)
    {
        Span<byte> secret = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(secret, seed);
        ReadOnlySpan<byte> label = "vbase/sev/vm-encryption-key/"u8;
        Span<byte> message = stackalloc byte[label.Length + 2];
        label.CopyTo(message);
        BinaryPrimitives.WriteUInt16LittleEndian(message[label.Length..], domain.Value);
        Span<byte> material = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secret, message, material);
        return new AesXts(material[..16], material[16..]);
    }

    public void Dispose()
    {
        foreach (AesXts key in byDomain.Values)
        {
            key.Dispose();
        }
        byDomain.Clear();
    }
}

/// <summary>A VM's key as the memory controller applies it to the VM's private memory: each 16-byte block tweaked by its machine address.</summary>
public sealed class SevMemoryCipher(AesXts key) : VmMemoryCipher
{
    public override int BlockBytes => AesXts.BlockBytes;

    public override void Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> dram, ulong machineAddress) =>
        key.EncryptAtAddress(plaintext, dram, machineAddress);

    public override void Decrypt(ReadOnlySpan<byte> dram, Span<byte> plaintext, ulong machineAddress) =>
        key.DecryptAtAddress(dram, plaintext, machineAddress);
}
