using System.Security.Cryptography;
using Vbase.Sapi.Toolkit.Integrity;

namespace Vbase.Sapi.Tests.Toolkit.Integrity;

public class IntegrityTreeTests
{
    private const long Leaves = 5000; // at least three off-chip levels for every arity tested

    public static TheoryData<int> Arities() => [2, 8, 64];

    [Theory]
    [MemberData(nameof(Arities))]
    public void ShapeFollowsTheArity(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity, nodeHashBytes: 8);
        long nodes = Leaves;
        for (int level = 0; level < tree.Height; level++)
        {
            nodes = (nodes + arity - 1) / arity;
            Assert.Equal(nodes, tree.Store.NodesAt(level));
        }
        Assert.Equal(1, tree.Store.NodesAt(tree.Height - 1));
        Assert.Equal(arity * 8, tree.Store.NodeBytes);
        Assert.True(tree.Height >= 3);
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void EveryLeafStartsWithTheInitialValueAndOnlyThatVerifies(int arity)
    {
        byte[] zeroBlock = new byte[64];
        using var tree = new IntegrityTree(Leaves, arity, initialLeafValue: zeroBlock);
        foreach (long leaf in new long[] { 0, 1, arity - 1, arity, 4095, 4096, Leaves - 1 })
        {
            Assert.True(tree.Verify(leaf, zeroBlock), $"leaf {leaf}");
            byte[] other = new byte[64];
            other[13] = 1;
            Assert.False(tree.Verify(leaf, other), $"leaf {leaf}");
        }
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void UpdatedLeavesVerifyTheirNewValueAndNotTheOld(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        var values = new Dictionary<long, byte[]>();
        var random = new Random(arity);
        for (int i = 0; i < 200; i++)
        {
            long leaf = random.NextInt64(Leaves);
            byte[] value = new byte[8];
            random.NextBytes(value);
            Assert.True(tree.Update(leaf, value));
            values[leaf] = value;
        }
        foreach ((long leaf, byte[] value) in values)
        {
            Assert.True(tree.Verify(leaf, value), $"leaf {leaf}");
        }
        long untouched = 0;
        while (values.ContainsKey(untouched))
        {
            untouched++;
        }
        Assert.True(tree.Verify(untouched, [])); // other leaves keep their initial (empty) value

        long target = values.Keys.First();
        byte[] old = values[target];
        Assert.True(tree.Update(target, [1, 2, 3]));
        Assert.False(tree.Verify(target, old));
        Assert.True(tree.Verify(target, [1, 2, 3]));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void CatchesATamperedLeafValue(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        byte[] mac = RandomNumberGenerator.GetBytes(8);
        Assert.True(tree.Update(1234, mac));
        byte[] forged = (byte[])mac.Clone();
        forged[7] ^= 0x01;
        Assert.False(tree.Verify(1234, forged));
        // Splicing: leaf 1235's value moved to leaf 1234.
        Assert.True(tree.Update(1235, forged));
        Assert.False(tree.Verify(1234, forged));
        Assert.True(tree.Verify(1234, mac));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void CatchesATamperedInnerNodeButOnlyBelowIt(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        byte[] value = [9, 9, 9];
        Assert.True(tree.Update(0, value));
        Assert.True(tree.Update(Leaves - 1, value));

        // Level 1 is an inner node: neither the leaves' own node nor the top.
        tree.Store.FlipBit(level: 1, index: 0, bit: 5);
        Assert.False(tree.Verify(0, value));
        Assert.True(tree.Verify(Leaves - 1, value)); // its path does not cross the tampered node

        // A tampered top node is caught by the on-chip root for every leaf.
        tree.Store.FlipBit(level: 1, index: 0, bit: 5);
        Assert.True(tree.Verify(0, value));
        tree.Store.FlipBit(tree.Height - 1, 0, bit: 0);
        Assert.False(tree.Verify(0, value));
        Assert.False(tree.Verify(Leaves - 1, value));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void CatchesAReplayedLeafAndPath(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        const long leaf = 777;
        byte[] oldValue = [1, 0, 0, 0, 0, 0, 0, 0];
        Assert.True(tree.Update(leaf, oldValue));
        IntegrityNodeSnapshot oldPath = tree.Store.SnapshotPath(leaf);
        Assert.Equal(tree.Height, oldPath.Nodes.Count);

        Assert.True(tree.Update(leaf, [2, 0, 0, 0, 0, 0, 0, 0]));
        tree.Store.Restore(oldPath); // every off-chip node on the path is back as it was
        Assert.False(tree.Verify(leaf, oldValue));

        IntegrityNodeSnapshot everything = tree.Store.Snapshot();
        Assert.Equal(Enumerable.Range(0, tree.Height).Sum(l => tree.Store.NodesAt(l)), everything.Nodes.Count);
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void CatchesAReplayOfTheWholeStore(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        byte[] oldValue = [7];
        Assert.True(tree.Update(42, oldValue));
        IntegrityNodeSnapshot before = tree.Store.Snapshot();
        Assert.True(tree.Update(42, [8]));
        tree.Store.Restore(before);
        Assert.False(tree.Verify(42, oldValue));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void AConsistentlyForgedOffChipPathIsStillCaughtByTheOnChipRoot(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity, nodeHashBytes: 8);
        const long leaf = 2500;
        byte[] forged = [0xEE];
        // The attacker recomputes every digest from the forged leaf up to the top node (SHA-256 is public).
        byte[] digest = Digest(0x00, forged, 8);
        long child = leaf;
        for (int level = 0; level < tree.Height; level++)
        {
            long index = child / arity;
            byte[] node = tree.Store.Read(level, index).ToArray();
            digest.CopyTo(node, (int)(child % arity) * 8);
            tree.Store.Overwrite(level, index, node);
            digest = Digest(0x01, node, 8);
            child = index;
        }
        Assert.False(tree.Verify(leaf, forged));
        Assert.False(tree.Verify(leaf, []));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void UpdateRefusesToLaunderATamperedSibling(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        byte[] siblingValue = [5, 5];
        Assert.True(tree.Update(101, siblingValue));
        byte[] before = tree.Store.Read(0, 100 / arity).ToArray();
        // Corrupt leaf 101's digest, then write leaf 100, which shares its node for every arity tested.
        tree.Store.FlipBit(0, 101 / arity, bit: ((101 % arity) * 64) + 3);
        Assert.False(tree.Update(100, [6, 6]));
        Assert.Equal(0, tree.LastTraffic.NodeWrites);
        Assert.False(tree.Verify(101, siblingValue));
        tree.Store.FlipBit(0, 101 / arity, bit: ((101 % arity) * 64) + 3);
        Assert.Equal(before, tree.Store.Read(0, 100 / arity).ToArray()); // nothing was written
        Assert.True(tree.Verify(101, siblingValue));
    }

    [Theory]
    [MemberData(nameof(Arities))]
    public void WithoutACacheEveryOperationWalksTheWholePath(int arity)
    {
        using var tree = new IntegrityTree(Leaves, arity);
        Assert.True(tree.Verify(10, []));
        Assert.Equal(new IntegrityTreeTraffic(tree.Height, 0, 0), tree.LastTraffic);
        Assert.True(tree.Update(10, [1]));
        Assert.Equal(new IntegrityTreeTraffic(tree.Height, tree.Height, 0), tree.LastTraffic);
        Assert.False(tree.Verify(11, [1]));
        Assert.Equal(1, tree.LastTraffic.NodeReads); // the mismatch shows in the first node
        Assert.Equal(new IntegrityTreeTraffic((2 * tree.Height) + 1, tree.Height, 0), tree.TotalTraffic);
    }

    [Fact]
    public void ATrustedCacheShortensTheWalk()
    {
        using var tree = new IntegrityTree(Leaves, arity: 8, trustedCacheNodes: 16);
        Assert.True(tree.Verify(0, []));
        Assert.Equal(new IntegrityTreeTraffic(tree.Height, 0, 0), tree.LastTraffic);
        Assert.True(tree.Verify(0, []));
        Assert.Equal(new IntegrityTreeTraffic(0, 0, 1), tree.LastTraffic); // its node is on chip now
        Assert.True(tree.Verify(7, []));
        Assert.Equal(new IntegrityTreeTraffic(0, 0, 1), tree.LastTraffic); // same node
        Assert.True(tree.Verify(8, []));
        Assert.Equal(new IntegrityTreeTraffic(1, 0, 1), tree.LastTraffic); // new leaf node, cached parent
        Assert.True(tree.Update(9, [3]));
        Assert.Equal(new IntegrityTreeTraffic(0, tree.Height, tree.Height), tree.LastTraffic);
        Assert.True(tree.Verify(9, [3]));
        Assert.False(tree.Verify(9, []));
    }

    [Fact]
    public void TheTrustedCacheStillCatchesTamperingAndReplay()
    {
        using var tree = new IntegrityTree(Leaves, arity: 8, trustedCacheNodes: 64);
        byte[] oldValue = [1];
        Assert.True(tree.Update(300, oldValue));
        IntegrityNodeSnapshot oldPath = tree.Store.SnapshotPath(300);
        Assert.True(tree.Update(300, [2]));

        tree.Store.Restore(oldPath);
        Assert.False(tree.Verify(300, oldValue)); // the on-chip copy of its node holds the new digest
        Assert.True(tree.Verify(300, [2]));       // and that copy, not DRAM, is what is trusted
        Assert.False(tree.Verify(300, [3]));
    }

    [Fact]
    public void ATamperedNodeIsCaughtOnceItsTrustedCopyIsEvicted()
    {
        using var tree = new IntegrityTree(Leaves, arity: 8, trustedCacheNodes: 5);
        Assert.True(tree.Update(0, [1]));   // leaf 0's whole path is now on chip
        tree.Store.FlipBit(0, 0, bit: 0);   // corrupt leaf 0's digest in DRAM only
        Assert.True(tree.Verify(0, [1]));   // the trusted on-chip copy is used
        // Leaf 0's node was just used, so it takes two other walks (three new nodes each) to evict it.
        Assert.True(tree.Verify(4000, []));
        Assert.True(tree.Verify(0, [1]));
        Assert.True(tree.Verify(2000, []));
        Assert.True(tree.Verify(3000, []));
        Assert.False(tree.Verify(0, [1]));  // now DRAM's copy is read, and checked
    }

    [Fact]
    public void WorksWithOneLeafAndFullSizeDigests()
    {
        using var tree = new IntegrityTree(1, arity: 2, nodeHashBytes: 32);
        Assert.Equal(1, tree.Height);
        Assert.True(tree.Verify(0, []));
        Assert.True(tree.Update(0, [4]));
        Assert.True(tree.Verify(0, [4]));
        tree.Store.FlipBit(0, 0, 200);
        Assert.False(tree.Verify(0, [4]));
    }

    [Fact]
    public void RejectsBadShapesAndLeaves()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntegrityTree(8, arity: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntegrityTree(8, arity: 65));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntegrityTree(8, nodeHashBytes: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntegrityTree(8, nodeHashBytes: 33));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntegrityTree(0));
        using var tree = new IntegrityTree(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Verify(8, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Update(-1, []));
        Assert.Throws<ArgumentException>(() => tree.Store.Overwrite(0, 0, new byte[3]));
    }

    /// <summary>The tree's documented digest: SHA-256(domain ‖ bytes), truncated.</summary>
    private static byte[] Digest(byte domain, byte[] bytes, int length) =>
        SHA256.HashData([domain, .. bytes])[..length];
}
