using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Vbase.Cli.Tests.Support;

/// <summary>
/// A fact that needs Slurm (slurmctld, slurmd, the client commands) and munge. Skipped where they are missing, except
/// under CI (CI=true), where .ci/run installs them and a missing one must fail the run rather than quietly skip.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public static readonly string[] Tools = ["slurmctld", "slurmd", "munged", "sbatch", "squeue", "scancel", "sinfo", "setsid"];

    public SlurmFactAttribute()
    {
        string[] missing = [.. Tools.Where(t => SlurmCluster.Find(t) is null)];
        if (missing.Length > 0 && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = $"{string.Join(", ", missing)} not found (apt-get install slurmctld slurmd munge; under CI=true this test runs and fails instead)";
        }
    }
}

/// <summary>
/// A one-node Slurm cluster on localhost, all of it in a temporary folder: its own munge key and munged socket, a
/// slurm.conf (linuxproc process tracking, no task plugin, no accounting) on free ports, slurmctld and slurmd in the
/// foreground, each in a session of its own. Dispose cancels the jobs and stops every process of the cluster, whatever
/// state it is in: the daemons by process group, and what they started (slurmstepd, the tasks, which Slurm puts in
/// sessions of their own) by the cluster's SLURM_CONF in their environment, which no other process has.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    private readonly List<Process> daemons = [];
    private readonly StringBuilder log = new();

    public string Directory { get; }

    /// <summary>The cluster's slurm.conf: SLURM_CONF for every Slurm command meant for this cluster.</summary>
    public string Conf => Path.Combine(Directory, "slurm.conf");

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["SLURM_CONF"] = Conf };

    private SlurmCluster(string directory) => Directory = directory;

    /// <summary>Starts the cluster and waits (at most 60 s) for its node to be idle.</summary>
    public static SlurmCluster Start()
    {
        var cluster = new SlurmCluster(System.IO.Directory.CreateTempSubdirectory("vbase-slurm-").FullName);
        try
        {
            cluster.Boot();
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private void Boot()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Slurm runs on Unix");
        }
        // munged refuses a socket folder that not everyone may enter, and a key others may read.
        File.SetUnixFileMode(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        string key = Path.Combine(Directory, "munge.key"), socket = Path.Combine(Directory, "munge.socket");
        File.WriteAllBytes(key, RandomNumberGenerator.GetBytes(1024));
        File.SetUnixFileMode(key, UnixFileMode.UserRead);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "state"));
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "spool"));
        string host = Dns.GetHostName().Split('.')[0], user = System.Environment.UserName;
        File.WriteAllText(Conf, $"""
            ClusterName=vbasetest
            SlurmctldHost={host}(127.0.0.1)
            SlurmctldPort={FreePort()}
            SlurmdPort={FreePort()}
            AuthType=auth/munge
            AuthInfo=socket={socket}
            CredType=cred/munge
            SlurmUser={user}
            SlurmdUser={user}
            StateSaveLocation={Directory}/state
            SlurmdSpoolDir={Directory}/spool
            SlurmctldPidFile={Directory}/slurmctld.pid
            SlurmdPidFile={Directory}/slurmd.pid
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            SwitchType=switch/none
            MpiDefault=none
            ReturnToService=2
            MailProg=/bin/true
            NodeName={host} NodeAddr=127.0.0.1 CPUs={System.Environment.ProcessorCount} State=UNKNOWN
            PartitionName=vbase Nodes=ALL Default=YES MaxTime=INFINITE State=UP

            """);
        Launch("munged", "--foreground", $"--socket={socket}", $"--key-file={key}", $"--pid-file={Directory}/munged.pid", $"--seed-file={Directory}/munged.seed");
        WaitFor(() => File.Exists(socket), "munged's socket");
        Launch("slurmctld", "-D", "-i");
        Launch("slurmd", "-D");
        WaitFor(() => Run("sinfo", "--noheader", "--format=%T").Stdout.Trim() == "idle", "the node to be idle");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Starts a daemon through setsid, so that it leads a process group of its own that Dispose can end.</summary>
    private void Launch(string daemon, params string[] arguments)
    {
        var start = new ProcessStartInfo(Find("setsid") ?? "setsid") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Find(daemon) ?? daemon);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["SLURM_CONF"] = Conf;
        var process = new Process { StartInfo = start };
        void Keep(object _, DataReceivedEventArgs e)
        {
            lock (log)
            {
                log.Append(daemon).Append(": ").Append(e.Data).Append('\n');
            }
        }
        process.OutputDataReceived += Keep;
        process.ErrorDataReceived += Keep;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        daemons.Add(process);
    }

    private void WaitFor(Func<bool> ready, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!ready())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60) || daemons.Any(d => d.HasExited))
            {
                string exited = string.Join(", ", daemons.Where(d => d.HasExited).Select(d => d.StartInfo.ArgumentList[0]));
                throw new InvalidOperationException($"the Slurm cluster did not start (waiting for {what}; exited: {exited}):\n{Log}");
            }
            Thread.Sleep(200);
        }
    }

    /// <summary>What the daemons printed so far (for a failing test's message).</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>Runs a Slurm command against this cluster, waiting at most 30 s.</summary>
    public (int Code, string Stdout) Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(Find(tool) ?? tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["SLURM_CONF"] = Conf;
        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "");
        }
        return (process.ExitCode, stdout.Result);
    }

    public void Dispose()
    {
        try
        {
            if (daemons.Count == 3 && !daemons.Any(d => d.HasExited))
            {
                Run("scancel", "--full", $"--user={System.Environment.UserName}");
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < TimeSpan.FromSeconds(15) && Run("squeue", "--noheader").Stdout.Trim().Length > 0)
                {
                    Thread.Sleep(200);
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            // Stopping goes on: the processes below end whatever scancel did.
        }
        // The daemons in reverse order of starting (slurmd, slurmctld, munged): each process group, politely then not.
        foreach (Process daemon in Enumerable.Reverse(daemons))
        {
            Stop(daemon);
        }
        foreach (int pid in ProcessesOfThisCluster())
        {
            _ = Kill(pid, SIGKILL);
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file still held open by a process being reaped; the folder is under /tmp.
        }
    }

    private static void Stop(Process daemon)
    {
        try
        {
            if (!daemon.HasExited)
            {
                _ = Kill(-daemon.Id, SIGTERM);
                if (!daemon.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    _ = Kill(-daemon.Id, SIGKILL);
                    daemon.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        daemon.Dispose();
    }

    /// <summary>Processes whose environment holds this cluster's SLURM_CONF: slurmstepd and the tasks it started.</summary>
    private IEnumerable<int> ProcessesOfThisCluster()
    {
        byte[] marker = Encoding.UTF8.GetBytes($"SLURM_CONF={Conf}\0");
        var found = new List<int>();
        foreach (string folder in System.IO.Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out int pid) || pid == System.Environment.ProcessId)
            {
                continue;
            }
            try
            {
                if (File.ReadAllBytes(Path.Combine(folder, "environ")).AsSpan().IndexOf(marker) >= 0)
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or another user's.
            }
        }
        return found;
    }

    /// <summary>A tool on PATH, or in the sbin folders a non-root PATH may lack.</summary>
    public static string? Find(string tool)
    {
        string path = (System.Environment.GetEnvironmentVariable("PATH") ?? "") + ":/usr/sbin:/sbin";
        foreach (string folder in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private const int SIGTERM = 15, SIGKILL = 9;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
