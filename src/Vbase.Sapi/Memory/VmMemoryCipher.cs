namespace Vbase.Sapi.Memory;

/// <summary>
/// How a whole-VM design's memory controller turns a VM's private memory into its DRAM bytes and back
/// (<see cref="SapiHost.EncryptVm"/>): a cipher keyed per VM and tweaked by the machine address, block by block.
/// </summary>
/// <remarks>
/// The host calls it only when someone outside the VM touches a private frame (Dom0's foreign mapping, the bus), never
/// on the VM's own accesses, so a virtual call per block is fine here.
/// </remarks>
public abstract class VmMemoryCipher
{
    /// <summary>The unit the address tweak covers (16 for AES-XEX); every call spans whole, aligned blocks.</summary>
    public abstract int BlockBytes { get; }

    /// <summary>The DRAM bytes of <paramref name="plaintext"/> stored at <paramref name="machineAddress"/>.</summary>
    public abstract void Encrypt(ReadOnlySpan<byte> plaintext, Span<byte> dram, ulong machineAddress);

    /// <summary>What the VM reads from the DRAM bytes <paramref name="dram"/> at <paramref name="machineAddress"/>.</summary>
    public abstract void Decrypt(ReadOnlySpan<byte> dram, Span<byte> plaintext, ulong machineAddress);
}
