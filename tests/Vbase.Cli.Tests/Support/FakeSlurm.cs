namespace Vbase.Cli.Tests.Support;

/// <summary>Stand-ins for Slurm's commands: sbatch keeps each script it is given and runs nothing; squeue lists no job.</summary>
internal static class FakeSlurm
{
    /// <summary>The stand-ins in <paramref name="bin"/> (created); sbatch copies script N to <c>submitted-N.sbatch</c> there.</summary>
    public static SlurmCampaign.Host Create(string bin)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the stand-ins are bash scripts");
        }
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "sbatch"), "#!/bin/bash\nn=$(ls \"$FAKE_SLURM\" | grep -c '^submitted-' || true)\ncp \"${@: -1}\" \"$FAKE_SLURM/submitted-$n.sbatch\"\necho \"$@\" >> \"$FAKE_SLURM/sbatch.args\"\necho 4242\n");
        File.WriteAllText(Path.Combine(bin, "squeue"), "#!/bin/bash\nexit 0\n");
        foreach (string tool in new[] { "sbatch", "squeue" })
        {
            File.SetUnixFileMode(Path.Combine(bin, tool), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return new SlurmCampaign.Host(bin, new Dictionary<string, string> { ["FAKE_SLURM"] = bin }, TimeSpan.FromMilliseconds(10));
    }
}
