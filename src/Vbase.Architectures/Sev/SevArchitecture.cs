using Vbase.Sapi.Registry;

namespace Vbase.Architectures.Sev;

/// <summary>
/// AMD SEV: the VM's memory is encrypted with a key per VM (XTS-AES-128, tweaked by the machine address of each
/// 16-byte block); everything inside the VM, guest kernel included, reads and writes plaintext; Dom0, devices and a
/// physical attacker see ciphertext; nothing checks integrity, so their writes land as raw bytes that the VM
/// decrypts to garbage without noticing. The mechanism is <see cref="SevArchitectureBase"/>.
/// </summary>
[Architecture("sev", "AMD SEV: per-VM key, AES-XEX with a machine-address tweak, plaintext to the whole VM (kernel trusted), no integrity",
    SevArchitectureBase.TrustedPrincipals)]
public sealed class SevArchitecture(ArchitectureOptions options) : SevArchitectureBase(options)
{
    public override string Name => "sev";

    protected override string Label => "sev: per-VM key, no integrity";
}
