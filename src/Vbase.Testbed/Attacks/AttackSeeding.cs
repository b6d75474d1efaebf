namespace Vbase.Testbed.Attacks;

/// <summary>What decided one of an attack's choices (its firing delay, its target block), as the event log says it.</summary>
public enum AttackChoiceSource
{
    /// <summary>The application's manifest has one value only (no window, no candidate list).</summary>
    App,
    /// <summary>The run's seed picked it among the application's candidates.</summary>
    Seed,
    /// <summary>The attack's parameter (<c>delay</c>, <c>block</c>) was given: it wins over the seed.</summary>
    Parameter,
}

/// <summary>
/// What the seed varies in an attack run (docs/campaigns.md, "What a seed varies"): the firing delay within the
/// application's window and the target block among its candidate blocks. A pick depends on the seed, the attack and
/// what is picked, never on the architecture, so that every row of a campaign meets the same attack at the same time
/// on the same block, and the same seed picks the same again on every machine.
/// </summary>
public static class AttackSeeding
{
    /// <summary>The firing delay: the <c>delay</c> parameter if given, else the application's delay plus a seeded offset in its window.</summary>
    public static (ulong Delay, AttackChoiceSource Source) Delay(SecureApp app, string attack, ulong seed, int? parameter)
    {
        if (parameter is int given)
        {
            return ((ulong)given, AttackChoiceSource.Parameter);
        }
        if (app.DelayWindow == 0)
        {
            return (app.Delay, AttackChoiceSource.App);
        }
        return (app.Delay + Pick(seed, attack, "delay", app.DelayWindow + 1), AttackChoiceSource.Seed);
    }

    /// <summary>The target block: the <c>block</c> parameter if given, else one of the application's candidates, by seed.</summary>
    public static (int Block, AttackChoiceSource Source) Block(SecureApp app, string attack, ulong seed, int? parameter)
    {
        if (parameter is int given)
        {
            return (given, AttackChoiceSource.Parameter);
        }
        if (app.Blocks.Count <= 1)
        {
            return (app.Block, AttackChoiceSource.App);
        }
        return (app.Blocks[(int)Pick(seed, attack, "block", (ulong)app.Blocks.Count)], AttackChoiceSource.Seed);
    }

    /// <summary>A number below <paramref name="bound"/> from the seed, the attack and the purpose (SplitMix64 over their FNV-1a).</summary>
    public static ulong Pick(ulong seed, string attack, string purpose, ulong bound)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bound);
        ulong h = 0xcbf29ce484222325UL;
        foreach (char ch in $"{attack}/{purpose}")
        {
            h = (h ^ ch) * 0x100000001b3UL;
        }
        ulong z = seed ^ h;
        z += 0x9e3779b97f4a7c15UL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        z ^= z >> 31;
        return z % bound;
    }

    public static string Name(this AttackChoiceSource source) => source switch
    {
        AttackChoiceSource.Seed => "seed",
        AttackChoiceSource.Parameter => "parameter",
        _ => "app",
    };
}
