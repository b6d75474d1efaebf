using System.Text;

namespace Vbase.Testbed.Attacks;

/// <summary>A secret the scenario declares: the Oracle searches every attacker's observations for it.</summary>
public sealed record DeclaredSecret(string Name, byte[] Bytes);

/// <summary>A secure application the attack suite runs (guest/apps).</summary>
/// <param name="Program">The embedded image name.</param>
/// <param name="Block">Offset in its region of the block physical and write attacks target by default.</param>
/// <param name="OtherBlock">Offset of another block of the same region (the splice source).</param>
/// <param name="Delay">Instructions after the region is registered before attacks fire, by default.</param>
public sealed record SecureApp(string Name, string Program, string Description, IReadOnlyList<DeclaredSecret> Secrets,
    int Block, int OtherBlock, ulong Delay);

public static class AppCatalogue
{
    public static readonly IReadOnlyList<SecureApp> All =
    [
        new("paper", "secure-app.elf", "the paper's application: secret_key = 654321 in one protected page, one dropped write, printed twice",
            [new("secret_key", BitConverter.GetBytes(654321))], Block: 0, OtherBlock: 64, Delay: 0),
        new("vault", "vault.elf", "a key-value vault: 256 records in 4 protected pages, read, updated and checked 8192 times",
            [new("vault-secret", Encoding.ASCII.GetBytes("VAULT-SECRET-7f3a9c2e-launch-code"))], Block: 64, OtherBlock: 128, Delay: 200_000),
    ];

    public static IReadOnlyList<string> Names => [.. All.Select(a => a.Name)];

    public static SecureApp? Find(string name) => All.FirstOrDefault(a => a.Name == name);
}
